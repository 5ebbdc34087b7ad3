// An AF_PACKET socket on one interface: sends whole Ethernet frames (the Pi's DHCP from 0.0.0.0)
// and receives the IPv4 frames addressed to the interface.
#pragma once

#include "netbootd/emu/bytes.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <tl/expected.hpp>

namespace netbootd::emu {

using clock_type = std::chrono::steady_clock;

class packet_socket {
  public:
    static tl::expected<packet_socket, std::string> open(int ifindex);
    packet_socket(packet_socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    packet_socket& operator=(packet_socket&& o) noexcept;
    packet_socket(const packet_socket&) = delete;
    packet_socket& operator=(const packet_socket&) = delete;
    ~packet_socket();

    tl::expected<void, std::string> send(byte_view frame);
    /// The next incoming frame (our own outgoing copies are skipped), or nullopt at `deadline`.
    std::optional<bytes> receive(clock_type::time_point deadline);

  private:
    explicit packet_socket(int fd) : fd_(fd) {}
    int fd_ = -1;
};

/// Holds UDP port 68 while the emulator does DHCP on the packet socket, so that the kernel does
/// not answer unicast replies to a configured address with ICMP port unreachable. Best effort.
class port68_sink {
  public:
    port68_sink();
    ~port68_sink();
    port68_sink(const port68_sink&) = delete;
    port68_sink& operator=(const port68_sink&) = delete;

  private:
    int fd_ = -1;
};

} // namespace netbootd::emu
