// Passive capture (optional, api.capture, needs CAP_NET_RAW): watches the boot network for what
// netbootd does not handle itself — DHCP replies from other servers, and NFS traffic from node
// addresses — and turns them into events (dhcp.foreign_server, nfs.mount), so a foreign server
// is diagnosed and the nfs-root stage is seen without a node agent.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>

#include "netbootd/core/event_bus.hpp"
#include "netbootd/core/registry.hpp"

namespace netbootd::diag {

/// The capture filter the sniffer installs (BPF).
inline constexpr const char* sniff_filter =
    "(udp and src port 67 and dst port 68) or (dst port 2049 and (udp or tcp[tcpflags] & "
    "tcp-syn != 0))";

/// What one captured frame means; pure and stateless apart from `server_ip`.
struct sniff_result {
    event ev;
};

/// Classifies one Ethernet frame: a DHCP reply (BOOTREPLY) whose sender is not `server_ip`
/// becomes dhcp.foreign_server (mac = the client it answered, fields.server = its address);
/// a TCP SYN or UDP datagram from a node's address to port 2049 becomes nfs.mount. Anything
/// else, malformed frames included, gives nullopt. Never throws.
std::optional<event> classify_frame(std::span<const std::uint8_t> frame, ipv4_address server_ip,
                                    const registry& reg);

class sniffer {
  public:
    sniffer(event_bus& bus, registry_holder& registry, std::string interface,
            ipv4_address server_ip);
    ~sniffer();
    sniffer(const sniffer&) = delete;
    sniffer& operator=(const sniffer&) = delete;

    /// Opens the capture (throws std::runtime_error, e.g. without CAP_NET_RAW) and starts the
    /// capture thread.
    void start();
    void stop();

    /// NFS traffic is continuous; report a node's mount at most this often.
    std::chrono::seconds nfs_repeat{300};

    /// Frames seen / events published (for tests and metrics).
    std::uint64_t frames() const { return frames_.load(); }

  private:
    void run();
    bool should_report(const event& e);

    event_bus& bus_;
    registry_holder& registry_;
    std::string interface_;
    ipv4_address server_ip_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> frames_{0};
    std::thread thread_;
    struct impl;
    std::unique_ptr<impl> impl_;
    std::unordered_map<std::uint32_t, std::chrono::steady_clock::time_point> last_nfs_;
};

} // namespace netbootd::diag
