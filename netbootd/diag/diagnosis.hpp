// Diagnosis rules: where did a node's boot stop, and why, in words an operator can act on.
// Pure: (state, the node's recent events, now) -> diagnosis; `now` is a parameter so every rule
// is a deterministic test over a recorded event sequence.
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "netbootd/core/event.hpp"
#include "netbootd/diag/stage.hpp"

namespace netbootd::diag {

/// How long a stage may take before it counts as stalled. The defaults follow the Pi firmware's
/// own limits (3B ROM gives up after 25 s of DHCP, TFTP_FILE_TIMEOUT is 30 s).
struct diagnosis_settings {
    std::chrono::seconds silent_after_power{45};
    std::chrono::seconds dhcp_stall{20};
    std::chrono::seconds firmware_stall{60};
    std::chrono::seconds nfs_timeout{120};
};

struct diagnosis {
    stage reached = stage::off;
    /// Stable code: "ok", "booting", "off", "powered_silent", "power_failed", "dhcp_no_offer",
    /// "dhcp_dropped", "dhcp_no_request", "dhcp_no_tftp", "foreign_dhcp_server",
    /// "firmware_missing", "kernel_missing", "file_missing", "tftp_timeout", "tftp_error",
    /// "firmware_stalled", "nfs_export_missing", "nfs_timeout".
    std::string problem = "ok";
    /// One line: "start4.elf not found in the node's boot view".
    std::string summary;
    /// Plain-language paragraph: what was seen and what it means.
    std::string explanation;
    /// Things to check, most likely first.
    std::vector<std::string> hints;
    /// seq of the events the conclusion rests on.
    std::vector<std::uint64_t> evidence;

    bool is_problem() const { return problem != "ok" && problem != "booting" && problem != "off"; }
};

/// `events` are this node's recent events oldest first (plus dhcp.foreign_server events that no
/// node claims); only those of the current boot cycle (state.cycle_seq onwards, and the failed
/// attempts right before a retry) are considered.
diagnosis diagnose(const node_state& state, std::span<const event> events,
                   std::chrono::system_clock::time_point now,
                   const diagnosis_settings& settings = {});

nlohmann::json to_json(const diagnosis& d);

} // namespace netbootd::diag
