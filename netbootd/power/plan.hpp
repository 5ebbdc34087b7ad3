// What a driver would do for one action, step by step. Drivers build a plan and then run it, so
// a dry run prints exactly what a real run does, and tests compare plans (golden argv / HTTP
// requests) without touching hardware.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace netbootd::power {

/// Run a program (see process_runner).
struct exec_step {
    std::vector<std::string> argv;
    /// Extra environment (e.g. IPMI_PASSWORD), shown redacted by to_string.
    std::vector<std::pair<std::string, std::string>> env;
    std::chrono::milliseconds timeout{30000};
    bool operator==(const exec_step&) const = default;
};

/// Send one HTTP/1.1 request.
struct http_step {
    std::string method = "GET";
    std::string host;
    std::uint16_t port = 80;
    std::string target = "/";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::milliseconds timeout{5000};
    bool operator==(const http_step&) const = default;
};

/// Drive (or read, when `value` is empty) one GPIO line.
struct gpio_step {
    std::string chip;
    unsigned line = 0;
    bool active_low = false;
    std::optional<bool> value;
    bool operator==(const gpio_step&) const = default;
};

/// Wait between the off and the on of a cycle.
struct sleep_step {
    std::chrono::milliseconds duration{0};
    bool operator==(const sleep_step&) const = default;
};

/// A simulated switch changing (or reporting) state.
struct sim_step {
    std::string channel;
    std::optional<bool> value;
    bool operator==(const sim_step&) const = default;
};

using plan_step = std::variant<exec_step, http_step, gpio_step, sleep_step, sim_step>;
using action_plan = std::vector<plan_step>;

/// One line per step, as a dry run prints it: the argv shell-quoted (for reading, never run
/// through a shell), "POST http://host:port/target" plus the body, "gpio gpiochip0 line 17 = 1".
std::string to_string(const plan_step& s);
std::string to_string(const action_plan& p);

/// Quotes one argument so a human can paste it into a shell: plain words stay as they are.
std::string shell_quote(std::string_view arg);

} // namespace netbootd::power
