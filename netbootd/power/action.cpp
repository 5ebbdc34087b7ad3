#include "netbootd/power/action.hpp"

namespace netbootd::power {

std::string_view to_string(power_action a) {
    switch (a) {
    case power_action::on:
        return "on";
    case power_action::off:
        return "off";
    case power_action::cycle:
        return "cycle";
    case power_action::status:
        return "status";
    }
    return "?";
}

std::string_view to_string(power_state s) {
    switch (s) {
    case power_state::on:
        return "on";
    case power_state::off:
        return "off";
    case power_state::unknown:
        return "unknown";
    }
    return "?";
}

std::optional<power_action> parse_power_action(std::string_view text) {
    if (text == "on")
        return power_action::on;
    if (text == "off")
        return power_action::off;
    if (text == "cycle")
        return power_action::cycle;
    if (text == "status")
        return power_action::status;
    return std::nullopt;
}

power_state state_after(power_action a) {
    switch (a) {
    case power_action::on:
    case power_action::cycle:
        return power_state::on;
    case power_action::off:
        return power_state::off;
    case power_action::status:
        break;
    }
    return power_state::unknown;
}

} // namespace netbootd::power
