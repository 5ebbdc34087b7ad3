// Driver settings are validated at load with file:line:column errors, like the rest of the config.
#include <gtest/gtest.h>

#include "netbootd/core/config.hpp"
#include "netbootd/power/driver_factory.hpp"
#include "test_support.hpp"

namespace netbootd::power {
namespace {

const char* const base = R"(cluster:
  interface: eth0
  server_ip: 10.42.0.250
  subnet: 10.42.0.0/24
defaults:
  ip: "10.42.0.{position}"
  power: { driver: relays, channel: "{position}" }
nodes:
  - { position: 1, mac: "b8:27:eb:00:00:01" }
power:
  drivers:
)";

std::vector<std::string> messages(const std::string& drivers) {
    auto cfg = parse_config(std::string(base) + drivers, "cluster.yaml");
    std::vector<std::string> out;
    for (const auto& d : check_power_drivers(cfg))
        out.push_back(d.to_string());
    return out;
}

TEST(driver_factory, builds_every_driver_type) {
    auto cfg = parse_config(
        std::string(base) +
            R"(    relays: { type: command, on: [relay, on, "{channel}"], off: [relay, off, "{channel}"] }
    plugs: { type: http, preset: tasmota }
    hat: { type: gpio, active_low: true }
    poe: { type: snmp, host: switch1 }
    bmc: { type: ipmi, user: ADMIN }
    sim: { type: sim }
)",
        "cluster.yaml");
    auto set = make_drivers(cfg);
    EXPECT_EQ(set.names(),
              (std::vector<std::string>{"bmc", "hat", "plugs", "poe", "relays", "sim"}));
    ASSERT_NE(set.find("hat"), nullptr);
    EXPECT_EQ(set.find("hat")->type(), "gpio");
    EXPECT_EQ(set.find("nope"), nullptr);
}

TEST(driver_factory, unknown_key_is_located) {
    EXPECT_EQ(
        messages(
            "    relays:\n      type: command\n      on: [a]\n      off: [b]\n      tiemout: 5s\n"),
        (std::vector<std::string>{
            "cluster.yaml:16:7: power driver 'relays': unknown key 'tiemout' for a command "
            "driver (known keys: type, on, off, status, cycle, cycle_delay, timeout, "
            "status_on, status_off)"}));
}

TEST(driver_factory, missing_command_and_bad_values_all_reported) {
    const auto m =
        messages("    relays:\n      type: command\n      on: relay-ctl on\n      timeout: soon\n");
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m[0], "cluster.yaml:14:11: power driver 'relays': 'on' must be a non-empty list like "
                    "[\"relay-ctl\", "
                    "\"on\", \"{channel}\"]; each element is one argument, no shell");
    EXPECT_EQ(
        m[1],
        "cluster.yaml:13:7: power driver 'relays': needs 'off' (a list: program and arguments)");
    EXPECT_EQ(m[2], "cluster.yaml:15:16: power driver 'relays': 'timeout' must be a duration like "
                    "500ms, 5s or 1m, not "
                    "'soon'");
}

TEST(driver_factory, unknown_template_variable_is_a_load_error) {
    const auto m = messages("    relays: { type: command, on: [r, \"{slot}\"], off: [r] }\n");
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(
        m[0],
        "cluster.yaml:12:34: power driver 'relays': template '{slot}': unknown variable '{slot}'");
}

TEST(driver_factory, http_preset_and_request_errors) {
    const auto m = messages("    relays: { type: http, preset: sonoff }\n    other: { type: http, "
                            "host: x, on: {verb: GET}, off: /off }\n");
    ASSERT_GE(m.size(), 2u);
    EXPECT_NE(m[0].find("unknown key 'verb' in 'on'"), std::string::npos) << m[0];
    bool preset = false;
    for (const auto& s : m)
        preset = preset || s.find("unknown preset 'sonoff' (known: tasmota, shelly, homematic)") !=
                               std::string::npos;
    EXPECT_TRUE(preset);
}

TEST(driver_factory, snmp_needs_a_host_and_ipmi_one_password_source) {
    const auto m = messages("    relays: { type: snmp, version: 2 }\n    bmc: { type: ipmi, "
                            "password: a, password_file: b }\n");
    ASSERT_EQ(m.size(), 3u);
    EXPECT_NE(m[0].find("power driver 'bmc': set either 'password' or 'password_file'"),
              std::string::npos)
        << m[0];
    EXPECT_NE(m[1].find("power driver 'relays': needs 'host'"), std::string::npos) << m[1];
    EXPECT_NE(m[2].find("'version' must be 1, 2c or 3, not '2'"), std::string::npos) << m[2];
}

TEST(driver_factory, make_drivers_throws_config_error_with_all_problems) {
    auto cfg = parse_config(std::string(base) +
                                "    relays: { type: gpio, active_low: maybe, chip: [a] }\n",
                            "cluster.yaml");
    try {
        (void)make_drivers(cfg);
        FAIL() << "expected config_error";
    } catch (const config_error& e) {
        EXPECT_EQ(e.diagnostics().size(), 2u) << e.what();
    }
}

} // namespace
} // namespace netbootd::power
