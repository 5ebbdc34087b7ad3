// What a power driver is asked to do and what it answers. Plain data shared by the drivers, the
// sequencer, the CLI and (later) the API.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace netbootd::power {

enum class power_action { on, off, cycle, status };
enum class power_state { on, off, unknown };

std::string_view to_string(power_action a);
std::string_view to_string(power_state s);
std::optional<power_action> parse_power_action(std::string_view text);

/// The outcome of one action on one node. `ok == false` carries the driver's error text (a
/// command's exit status and stderr, an HTTP status, a GPIO errno ...).
struct power_result {
    bool ok = false;
    /// After on/off/cycle: the state the driver put the node in; after status: what it read.
    power_state state = power_state::unknown;
    std::string error;
    /// Extra detail worth logging (a command's stdout, an HTTP body), trimmed and bounded.
    std::string detail;

    static power_result success(power_state s, std::string detail = {}) {
        return power_result{true, s, {}, std::move(detail)};
    }
    static power_result failure(std::string error, std::string detail = {}) {
        return power_result{false, power_state::unknown, std::move(error), std::move(detail)};
    }
};

/// The state an action leaves the node in when it succeeds (status: unknown until read).
power_state state_after(power_action a);

} // namespace netbootd::power
