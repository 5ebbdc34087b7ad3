#include "netbootd/emu/packet_socket.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace netbootd::emu {

tl::expected<packet_socket, std::string> packet_socket::open(int ifindex) {
    const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_IP));
    if (fd < 0)
        return tl::unexpected(std::string("AF_PACKET socket: ") + std::strerror(errno) +
                              " (needs root / CAP_NET_RAW)");
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_IP);
    addr.sll_ifindex = ifindex;
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) {
        const std::string e = std::strerror(errno);
        ::close(fd);
        return tl::unexpected("bind packet socket: " + e);
    }
    return packet_socket(fd);
}

packet_socket& packet_socket::operator=(packet_socket&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = o.fd_;
        o.fd_ = -1;
    }
    return *this;
}

packet_socket::~packet_socket() {
    if (fd_ >= 0)
        ::close(fd_);
}

tl::expected<void, std::string> packet_socket::send(byte_view frame) {
    for (int attempt = 0; attempt < 3; ++attempt) {
        const ssize_t n = ::send(fd_, frame.data(), frame.size(), 0);
        if (n == static_cast<ssize_t>(frame.size()))
            return {};
        if (n < 0 && errno != EINTR && errno != ENOBUFS && errno != EAGAIN)
            return tl::unexpected(std::string("send frame: ") + std::strerror(errno));
    }
    return tl::unexpected(std::string("send frame: gave up after 3 attempts"));
}

std::optional<bytes> packet_socket::receive(clock_type::time_point deadline) {
    bytes buf(2048);
    for (;;) {
        const auto now = clock_type::now();
        if (now >= deadline)
            return std::nullopt;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
        pollfd p{fd_, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left + 1, 1000)));
        if (r <= 0)
            continue; // timeout slice or EINTR: the deadline check above ends the wait
        sockaddr_ll from{};
        socklen_t len = sizeof from;
        const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT,
                                     reinterpret_cast<sockaddr*>(&from), &len);
        if (n <= 0)
            continue;
        if (from.sll_pkttype == PACKET_OUTGOING)
            continue;
        buf.resize(static_cast<std::size_t>(n));
        return buf;
    }
}

port68_sink::port68_sink() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
        return;
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(68);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) < 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

port68_sink::~port68_sink() {
    if (fd_ >= 0)
        ::close(fd_);
}

} // namespace netbootd::emu
