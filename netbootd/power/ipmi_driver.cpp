#include "netbootd/power/ipmi_driver.hpp"

#include <fmt/format.h>

namespace netbootd::power {

bool valid_host_argument(std::string_view h) {
    if (h.empty() || h.size() > 253 || h.front() == '-')
        return false;
    for (char c : h)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
              c == ':'))
            return false;
    return true;
}

ipmi_driver::ipmi_driver(std::string name, ipmi_driver_settings s)
    : driver(std::move(name)), s_(std::move(s)) {}

std::unique_ptr<ipmi_driver> ipmi_driver::from_config(settings_reader& r) {
    r.allow({"program", "interface", "host", "user", "password", "password_file", "timeout"});
    ipmi_driver_settings s;
    if (auto v = r.string("program"))
        s.program = *v;
    if (auto v = r.string("interface")) {
        if (*v != "lan" && *v != "lanplus" && *v != "open")
            r.error("interface",
                    fmt::format("'interface' must be lan, lanplus or open, not '{}'", *v));
        s.interface = *v;
    }
    if (auto v = r.string("host"))
        s.host = *v;
    if (auto v = r.string("user"))
        s.user = *v;
    if (auto v = r.string("password"))
        s.password = *v;
    if (auto v = r.string("password_file"))
        s.password_file = *v;
    if (!s.password.empty() && !s.password_file.empty())
        r.error("password_file", "set either 'password' or 'password_file', not both");
    if (auto v = r.duration("timeout"))
        s.timeout = *v;
    if (!r.ok())
        return nullptr;
    return std::make_unique<ipmi_driver>(r.driver_name(), std::move(s));
}

tl::expected<action_plan, std::string>
ipmi_driver::describe_action(power_action a, const node& n, const std::string& channel) const {
    auto host = render_template(s_.host, target_vars(n, channel));
    if (!host)
        return tl::unexpected(fmt::format("host '{}': {}", s_.host, host.error().message));
    if (!valid_host_argument(*host))
        return tl::unexpected(fmt::format("'{}' is not a BMC host name or address", *host));
    exec_step e;
    e.timeout = s_.timeout;
    e.argv = {s_.program, "-I", s_.interface};
    if (s_.interface != "open") {
        e.argv.insert(e.argv.end(), {"-H", *host});
        if (!s_.user.empty())
            e.argv.insert(e.argv.end(), {"-U", s_.user});
        if (!s_.password.empty()) {
            e.argv.push_back("-E");
            e.env.emplace_back("IPMI_PASSWORD", s_.password);
        } else if (!s_.password_file.empty()) {
            e.argv.insert(e.argv.end(), {"-f", s_.password_file});
        }
    }
    e.argv.insert(e.argv.end(), {"chassis", "power", std::string(to_string(a))});
    return action_plan{std::move(e)};
}

power_state ipmi_driver::interpret_status(const std::string& output) const {
    // ipmitool prints "Chassis Power is on" / "Chassis Power is off".
    return match_status(output, "Power is on", "Power is off");
}

} // namespace netbootd::power
