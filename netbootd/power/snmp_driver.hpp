// `type: snmp`: PoE ports switched through the standard POWER-ETHERNET-MIB
// (pethPsePortAdminEnable, 1.3.6.1.2.1.105.1.1.1.3.<group>.<port>: 1 = enabled, 2 = disabled)
// with net-snmp's snmpset / snmpget. The node's channel is "PORT" or "GROUP.PORT".
//   host: switch1   version: 2c   community: private   group: 1   timeout: 5s   retries: 1
//   (version 3: user, level, auth_protocol, auth_password, priv_protocol, priv_password)
#pragma once

#include <memory>

#include "netbootd/power/driver.hpp"
#include "netbootd/power/settings_reader.hpp"

namespace netbootd::power {

struct snmp_driver_settings {
    std::string snmpset = "snmpset";
    std::string snmpget = "snmpget";
    std::string host;
    std::string version = "2c";
    std::string community = "private";
    std::string user;
    std::string level = "authPriv";
    std::string auth_protocol = "SHA";
    std::string auth_password;
    std::string priv_protocol = "AES";
    std::string priv_password;
    int group = 1;
    std::chrono::milliseconds timeout{5000};
    int retries = 1;
    std::chrono::milliseconds cycle_delay{2000};
};

inline constexpr std::string_view peth_admin_enable_oid = "1.3.6.1.2.1.105.1.1.1.3";

class snmp_driver : public driver {
  public:
    snmp_driver(std::string name, snmp_driver_settings s);
    static std::unique_ptr<snmp_driver> from_config(settings_reader& r);

    std::string_view type() const override { return "snmp"; }
    tl::expected<action_plan, std::string>
    describe_action(power_action a, const node& n, const std::string& channel) const override;

  protected:
    power_state interpret_status(const std::string& output) const override;

  private:
    std::vector<std::string> common_args(const std::string& program) const;
    snmp_driver_settings s_;
};

} // namespace netbootd::power
