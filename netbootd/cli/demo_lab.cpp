#include "netbootd/cli/demo_lab.hpp"

#include <csignal>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "netbootd/power/process_runner.hpp"

namespace netbootd::cli::demo {

namespace {

tl::expected<std::string, std::string> run(std::vector<std::string> argv, int timeout_ms = 10000) {
    power::process_request req;
    req.argv = std::move(argv);
    req.timeout = std::chrono::milliseconds(timeout_ms);
    auto out = power::run_process(req);
    if (!out.success())
        return tl::unexpected(
            fmt::format("{}: {}", fmt::join(req.argv, " "), out.describe_failure()));
    return out.out;
}

std::vector<std::string> list_demo_namespaces() {
    std::vector<std::string> out;
    auto text = run({"ip", "netns", "list"});
    if (!text)
        return out;
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
        auto name = line.substr(0, line.find(' '));
        if (name.rfind(ns_prefix, 0) == 0)
            out.push_back(name);
    }
    return out;
}

void kill_namespace_processes(const std::string& ns) {
    for (int sig : {SIGTERM, SIGKILL}) {
        auto pids = run({"ip", "netns", "pids", ns});
        if (!pids || pids->empty())
            return;
        std::istringstream in(*pids);
        int pid = 0;
        while (in >> pid)
            ::kill(pid, sig);
        for (int i = 0; i < 20; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            auto left = run({"ip", "netns", "pids", ns});
            if (!left || left->empty())
                return;
        }
    }
}

} // namespace

std::string server_ns() {
    return std::string(ns_prefix) + "server";
}
std::string node_ns(int position) {
    return fmt::format("{}p{:02}", ns_prefix, position);
}

tl::expected<std::string, std::string> run_in(const std::string& ns, std::vector<std::string> argv,
                                              int timeout_ms) {
    argv.insert(argv.begin(), {"ip", "netns", "exec", ns});
    return run(std::move(argv), timeout_ms);
}

int cleanup() {
    int removed = 0;
    for (const auto& ns : list_demo_namespaces()) {
        kill_namespace_processes(ns);
        if (run({"ip", "netns", "del", ns}))
            ++removed;
    }
    return removed;
}

tl::expected<lab, std::string> lab::create(const std::string& server_cidr,
                                           const std::vector<mac_address>& node_macs) {
    lab l;
    const std::string sw = std::string(ns_prefix) + "switch";
    auto step = [&](std::vector<std::string> argv) -> tl::expected<void, std::string> {
        auto r = run(std::move(argv));
        if (!r)
            return tl::unexpected(r.error());
        return {};
    };
    auto add_ns = [&](const std::string& ns) -> tl::expected<void, std::string> {
        if (auto r = step({"ip", "netns", "add", ns}); !r)
            return r;
        l.namespaces_.push_back(ns);
        if (auto r = run_in(ns, {"sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"}); !r)
            return tl::unexpected(r.error());
        return step({"ip", "-n", ns, "link", "set", "lo", "up"});
    };
    auto attach = [&](const std::string& ns, int index,
                      const std::string& mac) -> tl::expected<void, std::string> {
        const auto peer = fmt::format("p{}", index);
        if (auto r = step({"ip", "-n", sw, "link", "add", peer, "type", "veth", "peer", "name",
                           "eth0", "netns", ns});
            !r)
            return r;
        if (auto r = step({"ip", "-n", sw, "link", "set", peer, "master", "br0"}); !r)
            return r;
        if (auto r = step({"ip", "-n", sw, "link", "set", peer, "up"}); !r)
            return r;
        if (!mac.empty())
            if (auto r = step({"ip", "-n", ns, "link", "set", "eth0", "address", mac}); !r)
                return r;
        return step({"ip", "-n", ns, "link", "set", "eth0", "up"});
    };
    auto fail = [&](const std::string& why) -> tl::expected<lab, std::string> {
        l.destroy();
        return tl::unexpected(why);
    };
    if (auto r = add_ns(sw); !r)
        return fail(r.error());
    if (auto r = step({"ip", "-n", sw, "link", "add", "br0", "type", "bridge", "forward_delay", "0",
                       "stp_state", "0"});
        !r)
        return fail(r.error());
    if (auto r = step({"ip", "-n", sw, "link", "set", "br0", "up"}); !r)
        return fail(r.error());
    if (auto r = add_ns(server_ns()); !r)
        return fail(r.error());
    if (auto r = attach(server_ns(), 0, ""); !r)
        return fail(r.error());
    if (auto r = step({"ip", "-n", server_ns(), "addr", "add", server_cidr, "dev", "eth0"}); !r)
        return fail(r.error());
    for (std::size_t i = 0; i < node_macs.size(); ++i) {
        const int position = static_cast<int>(i) + 1;
        if (auto r = add_ns(node_ns(position)); !r)
            return fail(r.error());
        if (auto r = attach(node_ns(position), position, node_macs[i].to_string()); !r)
            return fail(r.error());
    }
    return l;
}

lab::~lab() {
    destroy();
}

void lab::destroy() {
    for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it) {
        kill_namespace_processes(*it);
        (void)run({"ip", "netns", "del", *it});
    }
    namespaces_.clear();
}

} // namespace netbootd::cli::demo
