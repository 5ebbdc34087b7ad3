#include "netbootd/power/snmp_driver.hpp"

#include <charconv>

#include <fmt/format.h>

#include "netbootd/power/ipmi_driver.hpp"

namespace netbootd::power {

snmp_driver::snmp_driver(std::string name, snmp_driver_settings s)
    : driver(std::move(name)), s_(std::move(s)) {}

std::unique_ptr<snmp_driver> snmp_driver::from_config(settings_reader& r) {
    r.allow({"snmpset", "snmpget", "host", "version", "community", "user", "level", "auth_protocol",
             "auth_password", "priv_protocol", "priv_password", "group", "timeout", "retries",
             "cycle_delay"});
    snmp_driver_settings s;
    if (auto v = r.string("snmpset"))
        s.snmpset = *v;
    if (auto v = r.string("snmpget"))
        s.snmpget = *v;
    if (auto v = r.string("host", true)) {
        s.host = *v;
        if (!valid_host_argument(*v))
            r.error("host", fmt::format("'{}' is not a host name or address", *v));
    }
    if (auto v = r.string("version")) {
        if (*v != "1" && *v != "2c" && *v != "3")
            r.error("version", fmt::format("'version' must be 1, 2c or 3, not '{}'", *v));
        s.version = *v;
    }
    if (auto v = r.string("community"))
        s.community = *v;
    if (auto v = r.string("user"))
        s.user = *v;
    if (auto v = r.string("level")) {
        if (*v != "noAuthNoPriv" && *v != "authNoPriv" && *v != "authPriv")
            r.error(
                "level",
                fmt::format("'level' must be noAuthNoPriv, authNoPriv or authPriv, not '{}'", *v));
        s.level = *v;
    }
    if (auto v = r.string("auth_protocol"))
        s.auth_protocol = *v;
    if (auto v = r.string("auth_password"))
        s.auth_password = *v;
    if (auto v = r.string("priv_protocol"))
        s.priv_protocol = *v;
    if (auto v = r.string("priv_password"))
        s.priv_password = *v;
    if (auto v = r.integer("group", 1, 65535))
        s.group = static_cast<int>(*v);
    if (auto v = r.duration("timeout"))
        s.timeout = *v;
    if (auto v = r.integer("retries", 0, 10))
        s.retries = static_cast<int>(*v);
    if (auto v = r.duration("cycle_delay"))
        s.cycle_delay = *v;
    if (s.version == "3" && s.user.empty())
        r.error("user", "SNMP version 3 needs a 'user'");
    if (!r.ok())
        return nullptr;
    return std::make_unique<snmp_driver>(r.driver_name(), std::move(s));
}

std::vector<std::string> snmp_driver::common_args(const std::string& program) const {
    std::vector<std::string> a{program, "-v", s_.version};
    if (s_.version == "3") {
        a.insert(a.end(), {"-u", s_.user, "-l", s_.level});
        if (s_.level != "noAuthNoPriv")
            a.insert(a.end(), {"-a", s_.auth_protocol, "-A", s_.auth_password});
        if (s_.level == "authPriv")
            a.insert(a.end(), {"-x", s_.priv_protocol, "-X", s_.priv_password});
    } else {
        a.insert(a.end(), {"-c", s_.community});
    }
    // net-snmp's -t is in seconds (fractions allowed).
    a.insert(a.end(), {"-t", fmt::format("{:g}", static_cast<double>(s_.timeout.count()) / 1000.0),
                       "-r", std::to_string(s_.retries)});
    return a;
}

namespace {

bool parse_index(std::string_view s, int& out) {
    if (s.empty())
        return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size() && out >= 0;
}

} // namespace

tl::expected<action_plan, std::string>
snmp_driver::describe_action(power_action a, const node& /*n*/, const std::string& channel) const {
    int group = s_.group;
    int port = 0;
    const auto dot = channel.find('.');
    const bool ok = dot == std::string::npos
                        ? parse_index(channel, port)
                        : parse_index(std::string_view(channel).substr(0, dot), group) &&
                              parse_index(std::string_view(channel).substr(dot + 1), port);
    if (!ok)
        return tl::unexpected(
            fmt::format("channel '{}' is not a PoE port (PORT or GROUP.PORT)", channel));
    const auto oid = fmt::format("{}.{}.{}", peth_admin_enable_oid, group, port);
    // -t/-r bound one request; the process timeout is a backstop above all retries.
    const auto backstop = s_.timeout * (s_.retries + 1) + std::chrono::seconds(2);
    auto set = [&](bool on) {
        auto argv = common_args(s_.snmpset);
        argv.insert(argv.end(), {s_.host, oid, "i", on ? "1" : "2"});
        return exec_step{std::move(argv), {}, backstop};
    };
    switch (a) {
    case power_action::on:
        return action_plan{set(true)};
    case power_action::off:
        return action_plan{set(false)};
    case power_action::cycle:
        return action_plan{set(false), sleep_step{s_.cycle_delay}, set(true)};
    case power_action::status: {
        auto argv = common_args(s_.snmpget);
        argv.insert(argv.end(), {"-Oqv", s_.host, oid});
        return action_plan{exec_step{std::move(argv), {}, backstop}};
    }
    }
    return tl::unexpected(std::string("unknown action"));
}

power_state snmp_driver::interpret_status(const std::string& output) const {
    // With the MIB loaded snmpget -Oqv prints "true"/"false", without it "1"/"2".
    std::string word;
    for (char c : output) {
        if (c == ' ' || c == '\n' || c == '\r' || c == '(')
            break;
        word += c;
    }
    if (word == "1" || word == "true")
        return power_state::on;
    if (word == "2" || word == "false")
        return power_state::off;
    return power_state::unknown;
}

} // namespace netbootd::power
