// `type: command`: runs a program per action from argv templates, without a shell.
//   on:     ["relay-ctl", "on", "{channel}"]
//   off:    ["relay-ctl", "off", "{channel}"]
//   status: ["relay-ctl", "get", "{channel}"]   (optional; prints on/off, 1/0, true/false)
//   cycle:  [...]                               (optional; else off, cycle_delay, on)
//   cycle_delay: 2s   timeout: 30s   status_on: "ON"   status_off: "OFF"
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "netbootd/power/driver.hpp"
#include "netbootd/power/settings_reader.hpp"

namespace netbootd::power {

struct command_driver_settings {
    std::vector<std::string> on;
    std::vector<std::string> off;
    std::vector<std::string> status;
    std::vector<std::string> cycle;
    std::chrono::milliseconds cycle_delay{2000};
    std::chrono::milliseconds timeout{30000};
    /// Substrings of the status output meaning on / off, checked before the plain words.
    std::string status_on;
    std::string status_off;
};

class command_driver : public driver {
  public:
    command_driver(std::string name, command_driver_settings s);
    /// Reads and validates the settings; nullptr when `r` collected errors.
    static std::unique_ptr<command_driver> from_config(settings_reader& r);

    std::string_view type() const override { return "command"; }
    tl::expected<action_plan, std::string>
    describe_action(power_action a, const node& n, const std::string& channel) const override;

  protected:
    power_state interpret_status(const std::string& output) const override;

  private:
    command_driver_settings s_;
};

} // namespace netbootd::power
