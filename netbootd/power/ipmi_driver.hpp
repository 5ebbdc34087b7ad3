// `type: ipmi`: boards with a BMC, switched with ipmitool's chassis power commands.
//   host: "{channel}"  (default; the node's BMC)   user: ADMIN   password: secret | password_file:
//   F interface: lanplus   program: ipmitool   timeout: 15s
// The password goes to ipmitool through IPMI_PASSWORD (-E) or a file (-f), never on the
// command line where `ps` would show it.
#pragma once

#include <memory>

#include "netbootd/power/driver.hpp"
#include "netbootd/power/settings_reader.hpp"

namespace netbootd::power {

struct ipmi_driver_settings {
    std::string program = "ipmitool";
    std::string interface = "lanplus";
    std::string host = "{channel}";
    std::string user;
    std::string password;
    std::string password_file;
    std::chrono::milliseconds timeout{15000};
};

class ipmi_driver : public driver {
  public:
    ipmi_driver(std::string name, ipmi_driver_settings s);
    static std::unique_ptr<ipmi_driver> from_config(settings_reader& r);

    std::string_view type() const override { return "ipmi"; }
    tl::expected<action_plan, std::string>
    describe_action(power_action a, const node& n, const std::string& channel) const override;

  protected:
    power_state interpret_status(const std::string& output) const override;

  private:
    ipmi_driver_settings s_;
};

/// A host name or address that is safe as a single argument (no leading '-', no blanks).
bool valid_host_argument(std::string_view h);

} // namespace netbootd::power
