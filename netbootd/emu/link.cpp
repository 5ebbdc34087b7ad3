#include "netbootd/emu/link.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <net/if.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace netbootd::emu {
namespace {

std::string errno_text() {
    return std::strerror(errno);
}

} // namespace

tl::expected<iface_info, std::string> query_iface(const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ)
        return tl::unexpected(fmt::format("bad interface name '{}'", name));
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return tl::unexpected("socket: " + errno_text());
    ifreq req{};
    std::copy(name.begin(), name.end(), req.ifr_name);
    iface_info info;
    if (::ioctl(fd, SIOCGIFINDEX, &req) < 0) {
        const std::string e = errno_text();
        ::close(fd);
        return tl::unexpected(fmt::format("interface {}: {}", name, e));
    }
    info.index = req.ifr_ifindex;
    if (::ioctl(fd, SIOCGIFHWADDR, &req) < 0) {
        const std::string e = errno_text();
        ::close(fd);
        return tl::unexpected(fmt::format("interface {}: hardware address: {}", name, e));
    }
    for (std::size_t i = 0; i < 6; ++i)
        info.mac.bytes[i] = static_cast<std::uint8_t>(req.ifr_hwaddr.sa_data[i]);
    if (::ioctl(fd, SIOCGIFFLAGS, &req) == 0)
        info.up = (req.ifr_flags & IFF_UP) != 0;
    ::close(fd);
    return info;
}

tl::expected<void, std::string> run_command(const std::vector<std::string>& argv,
                                            std::chrono::milliseconds timeout) {
    if (argv.empty())
        return tl::unexpected(std::string("empty command"));
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
        return tl::unexpected("fork: " + errno_text());
    if (pid == 0) {
        // Our stdout carries the JSON report; the child must not write to it.
        const int devnull = ::open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            ::dup2(devnull, STDOUT_FILENO);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    for (;;) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return tl::unexpected("waitpid: " + errno_text());
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return tl::unexpected(fmt::format("'{}' timed out", argv[0]));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::string line;
    for (const auto& a : argv)
        line += (line.empty() ? "" : " ") + a;
    if (!WIFEXITED(status))
        return tl::unexpected(fmt::format("'{}' was killed", line));
    if (WEXITSTATUS(status) == 127)
        return tl::unexpected(
            fmt::format("'{}': cannot run {} (iproute2 installed?)", line, argv[0]));
    if (WEXITSTATUS(status) != 0)
        return tl::unexpected(fmt::format("'{}' exited with {}", line, WEXITSTATUS(status)));
    return {};
}

tl::expected<iface_info, std::string> prepare_iface(const std::string& name,
                                                    const mac_address& mac) {
    using namespace std::chrono_literals;
    auto info = query_iface(name);
    if (!info)
        return info;
    if (info->mac != mac) {
        // Most drivers (veth included) want the link down to change the address.
        auto r = run_command({"ip", "link", "set", "dev", name, "down"}, 5s).and_then([&] {
            return run_command({"ip", "link", "set", "dev", name, "address", mac.to_string()}, 5s);
        });
        if (!r)
            return tl::unexpected(r.error());
    }
    if (auto r = run_command({"ip", "-4", "addr", "flush", "dev", name}, 5s); !r)
        return tl::unexpected(r.error());
    if (auto r = run_command({"ip", "link", "set", "dev", name, "up"}, 5s); !r)
        return tl::unexpected(r.error());
    return query_iface(name);
}

tl::expected<void, std::string> set_address(const std::string& name, ipv4_address ip,
                                            int prefix_len) {
    using namespace std::chrono_literals;
    if (auto r = run_command({"ip", "-4", "addr", "flush", "dev", name}, 5s); !r)
        return r;
    return run_command(
        {"ip", "addr", "add", fmt::format("{}/{}", ip.to_string(), prefix_len), "dev", name}, 5s);
}

std::optional<int> prefix_length(ipv4_address mask) {
    const std::uint32_t m = mask.value;
    const int n = __builtin_popcount(m);
    const std::uint32_t canonical = n == 0 ? 0 : ~std::uint32_t{0} << (32 - n);
    if (canonical != m)
        return std::nullopt;
    return n;
}

} // namespace netbootd::emu
