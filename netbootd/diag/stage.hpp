// Boot stage per node, folded from that node's events. Pure: no clock, no I/O, so every
// transition is testable from a recorded event sequence.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "netbootd/core/event.hpp"

namespace netbootd::diag {

using time_point = std::chrono::system_clock::time_point;

/// How far a node's boot got, in order. Comparisons follow boot order.
enum class stage { off, powered, dhcp, firmware, kernel, nfs_root, up };

/// "off", "powered", "dhcp", "firmware", "kernel", "nfs-root", "up".
std::string_view to_string(stage s);
std::optional<stage> parse_stage(std::string_view text);

/// What netbootd knows of one node's current boot attempt (a "cycle" starts at power-on, at a
/// firmware-stage DHCP after the node got further, or at a power-off).
struct node_state {
    stage current = stage::off;
    /// When `current` was entered.
    time_point since{};
    /// Start of the current boot cycle and the seq of the event that started it.
    time_point cycle_start{};
    std::uint64_t cycle_seq = 0;
    /// Boot cycles seen since the daemon started (a node stuck in a retry loop counts up).
    int cycles = 0;

    time_point last_event_time{};
    std::string last_event_kind;
    std::uint64_t last_event_seq = 0;

    /// Address seen in DHCP replies or packets from the node.
    std::optional<ipv4_address> ip;
    /// Lease length in seconds from the last OFFER/ACK (fields.lease_time); nullopt = unknown,
    /// -1 = infinite.
    std::optional<std::int64_t> lease_seconds;
    time_point lease_time{};

    /// "unknown", "on", "off" or "failed".
    std::string power = "unknown";
    /// fields.stage of the last DHCP packet ("pi3-rom", "pi4", "kernel", ...).
    std::string dhcp_client;

    // Counters for the current cycle.
    int discovers = 0;
    int offers = 0;
    int requests = 0;
    int acks = 0;
    int drops = 0;
    int rrqs = 0;
    int files_sent = 0;
    std::uint64_t bytes_sent = 0;
    std::optional<time_point> last_offer;
    std::optional<time_point> last_tftp;
    std::optional<time_point> firmware_sent;
    std::optional<time_point> kernel_sent;
    std::string last_file;

    /// From the node agent.
    std::string agent_hostname;
    std::string agent_kernel;
};

/// Firmware-stage and kernel file names, compared on the basename (the prefix directory
/// "a2ef5644/" is ignored).
bool is_firmware_file(std::string_view file);
bool is_kernel_file(std::string_view file);
std::string_view basename(std::string_view file);

/// Folds one event of this node into its state. Unknown kinds only update the "last event"
/// fields, so new event kinds never break stage inference.
node_state apply(node_state s, const event& e);

} // namespace netbootd::diag
