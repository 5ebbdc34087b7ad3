// One event type for everything netbootd sees or does: a packet handled, a file sent, a power
// action. Kinds are stable strings catalogued in docs/events.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "netbootd/core/net_types.hpp"

namespace netbootd {

enum class severity { debug, info, warning, error };

struct event {
    /// Assigned by the bus: strictly increasing, so clients can resume after the last one seen.
    std::uint64_t seq = 0;
    std::chrono::system_clock::time_point time{};
    /// The node this is about, when known.
    std::optional<int> position;
    std::optional<mac_address> mac;
    std::optional<ipv4_address> ip;
    /// "dhcp", "tftp", "nfs", "power", "agent", "sniffer", "daemon".
    std::string source;
    /// "dhcp.discover", "tftp.not_found", ...
    std::string kind;
    severity level = severity::info;
    /// Kind-specific details (file, bytes, reason ...).
    nlohmann::json fields = nlohmann::json::object();
};

/// The event as one JSON object (the API and the on-disk log use this form).
nlohmann::json to_json(const event& e);
/// One human-readable line: "dhcp.offer node02 b8:27:eb:e2:47:cc 10.42.0.2 model=pi3b-rom".
std::string to_line(const event& e);
std::string_view to_string(severity s);

} // namespace netbootd
