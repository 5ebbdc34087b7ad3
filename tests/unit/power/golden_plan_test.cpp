// Golden tests: the exact argv and HTTP requests each driver would send (its dry run).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "netbootd/power/gpio_driver.hpp"
#include "netbootd/power/http_driver.hpp"
#include "netbootd/power/sim_driver.hpp"
#include "test_support.hpp"

namespace netbootd::power {
namespace {

using testing::driver_from_yaml;
using testing::sample_node;
using argv_t = std::vector<std::string>;
using namespace std::chrono_literals;

action_plan plan_of(const driver& d, power_action a, const node& n, const std::string& ch) {
    auto p = d.describe_action(a, n, ch);
    if (!p)
        throw std::runtime_error(p.error());
    return *p;
}

const exec_step& exec_at(const action_plan& p, std::size_t i) {
    return std::get<exec_step>(p.at(i));
}
const http_step& http_at(const action_plan& p, std::size_t i) {
    return std::get<http_step>(p.at(i));
}

TEST(command_golden, renders_each_template_into_one_argument) {
    auto d = driver_from_yaml("relays", R"({type: command, timeout: 7s,
        on: ["relay-ctl", "--board", "{channel_1}", "on", "{channel_2}", "{hostname}", "{position:02}", "{mac}"],
        off: ["relay-ctl", "off", "{channel}"]})");
    const auto n = sample_node(2, "node02");
    const auto p = plan_of(*d, power_action::on, n, "b1/4");
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(exec_at(p, 0).argv, (argv_t{"relay-ctl", "--board", "b1", "on", "4", "node02", "02",
                                          "b8:27:eb:e2:47:cc"}));
    EXPECT_EQ(exec_at(p, 0).timeout, 7s);
}

TEST(command_golden, hostile_hostname_stays_one_argument) {
    auto d = driver_from_yaml(
        "relays", R"({type: command, on: ["relay-ctl", "on", "{hostname}"], off: ["x"]})");
    const std::string hostile = "n1; rm -rf / #$(reboot)`id`\n";
    const auto n = sample_node(1, hostile);
    const auto p = plan_of(*d, power_action::on, n, "1");
    EXPECT_EQ(exec_at(p, 0).argv, (argv_t{"relay-ctl", "on", hostile}));
    // The dry-run text quotes it so a human copy-paste is safe too.
    EXPECT_EQ(to_string(p), "relay-ctl on 'n1; rm -rf / #$(reboot)`id`\n'");

    // And run for real: printf prints the argument literally, nothing executes.
    auto echo = driver_from_yaml(
        "echo", R"({type: command, on: ["printf", "%s", "{hostname}"], off: ["true"],
        status: ["printf", "%s", "{hostname}"], status_on: "reboot"})");
    auto r = echo->status(n, "1");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.state, power_state::on);
    EXPECT_EQ(r.detail, "n1; rm -rf / #$(reboot)`id`");
}

TEST(command_golden, cycle_is_off_delay_on_unless_a_cycle_command_is_given) {
    auto d =
        driver_from_yaml("relays", R"({type: command, cycle_delay: 3s, on: ["r", "on", "{channel}"],
        off: ["r", "off", "{channel}"]})");
    const auto p = plan_of(*d, power_action::cycle, sample_node(), "9");
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(exec_at(p, 0).argv, (argv_t{"r", "off", "9"}));
    EXPECT_EQ(std::get<sleep_step>(p[1]).duration, 3s);
    EXPECT_EQ(exec_at(p, 2).argv, (argv_t{"r", "on", "9"}));
    EXPECT_EQ(to_string(p), "r off 9\nsleep 3s\nr on 9");

    auto c = driver_from_yaml(
        "relays",
        R"({type: command, on: ["r", "on"], off: ["r", "off"], cycle: ["r", "cycle", "{channel}"]})");
    const auto q = plan_of(*c, power_action::cycle, sample_node(), "9");
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(exec_at(q, 0).argv, (argv_t{"r", "cycle", "9"}));
}

TEST(command_golden, status_without_a_status_command_is_an_error) {
    auto d = driver_from_yaml("relays", R"({type: command, on: ["r", "on"], off: ["r", "off"]})");
    auto p = d->describe_action(power_action::status, sample_node(), "1");
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error(), "driver 'relays' has no 'status' command");
}

TEST(command_golden, cycle_uses_the_sleep_runner) {
    auto d = driver_from_yaml("relays",
                              R"({type: command, cycle_delay: 5m, on: ["true"], off: ["true"]})");
    auto runners = step_runners::real();
    std::vector<std::chrono::milliseconds> slept;
    runners.sleep = [&](std::chrono::milliseconds ms) { slept.push_back(ms); };
    d->set_runners(runners);
    auto r = d->cycle(sample_node(), "1");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(slept, (std::vector<std::chrono::milliseconds>{5min}));
}

TEST(command_golden, failure_carries_exit_status_and_stderr) {
    auto d = driver_from_yaml(
        "relays",
        R"({type: command, on: ["sh", "-c", "echo 'board 3 not found' >&2; exit 4"], off: ["true"]})");
    auto r = d->on(sample_node(), "1");
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "sh: exit status 4: board 3 not found");
}

TEST(http_golden, tasmota_requests) {
    auto d = driver_from_yaml("plugs", "{type: http, preset: tasmota, timeout: 2s}");
    const auto n = sample_node();
    auto on = plan_of(*d, power_action::on, n, "10.42.0.201");
    ASSERT_EQ(on.size(), 1u);
    EXPECT_EQ(http_at(on, 0),
              (http_step{"GET", "10.42.0.201", 80, "/cm?cmnd=Power%20On", {}, "", 2s}));
    EXPECT_EQ(to_string(on), "GET http://10.42.0.201:80/cm?cmnd=Power%20On");
    EXPECT_EQ(http_at(plan_of(*d, power_action::off, n, "plug-02"), 0).target,
              "/cm?cmnd=Power%20Off");
    EXPECT_EQ(http_at(plan_of(*d, power_action::status, n, "plug-02"), 0).target, "/cm?cmnd=Power");
}

TEST(http_golden, shelly_requests_with_basic_auth) {
    auto d =
        driver_from_yaml("plugs", "{type: http, preset: shelly, user: admin, password: 'pa:ss'}");
    const auto p = plan_of(*d, power_action::on, sample_node(), "shelly-07.lan");
    const auto& s = http_at(p, 0);
    EXPECT_EQ(s.method, "GET");
    EXPECT_EQ(s.host, "shelly-07.lan");
    EXPECT_EQ(s.target, "/relay/0?turn=on");
    ASSERT_EQ(s.headers.size(), 1u);
    EXPECT_EQ(s.headers[0],
              (std::pair<std::string, std::string>{"Authorization", "Basic YWRtaW46cGE6c3M="}));
    EXPECT_EQ(to_string(p), "GET http://shelly-07.lan:80/relay/0?turn=on\n  Authorization: ***");
    EXPECT_EQ(http_at(plan_of(*d, power_action::off, sample_node(), "s"), 0).target,
              "/relay/0?turn=off");
}

TEST(http_golden, homematic_xmlrpc_set_value) {
    auto d = driver_from_yaml("ccu", "{type: http, preset: homematic, host: ccu3.lan}");
    const auto p = plan_of(*d, power_action::on, sample_node(), "LEQ0123456:1");
    const auto& s = http_at(p, 0);
    EXPECT_EQ(s.method, "POST");
    EXPECT_EQ(s.host, "ccu3.lan");
    EXPECT_EQ(s.port, 2001);
    EXPECT_EQ(s.target, "/");
    EXPECT_EQ(s.body, "<?xml version=\"1.0\"?><methodCall><methodName>setValue</methodName><params>"
                      "<param><value><string>LEQ0123456:1</string></value></param>"
                      "<param><value><string>STATE</string></value></param>"
                      "<param><value><boolean>1</boolean></value></param></params></methodCall>");
    EXPECT_EQ(s.headers.at(0), (std::pair<std::string, std::string>{"Content-Type", "text/xml"}));
    const auto off = http_at(plan_of(*d, power_action::off, sample_node(), "LEQ0123456:1"), 0);
    EXPECT_NE(off.body.find("<boolean>0</boolean>"), std::string::npos);
    const auto st = http_at(plan_of(*d, power_action::status, sample_node(), "LEQ0123456:1"), 0);
    EXPECT_NE(st.body.find("<methodName>getValue</methodName>"), std::string::npos);
    EXPECT_EQ(st.body.find("<boolean>"), std::string::npos);
}

TEST(http_golden, variables_are_escaped_for_path_and_xml_body) {
    auto d = driver_from_yaml("custom", R"({type: http, host: gw.lan, port: 8080,
        on: {method: POST, path: "/switch/{hostname}?on=1", body: "<name>{hostname}</name>", format: xml},
        off: "/switch/{hostname}?on=0"})");
    const auto n = sample_node(3, "a&b <c>/../?x=1");
    const auto s = http_at(plan_of(*d, power_action::on, n, "1"), 0);
    EXPECT_EQ(s.target, "/switch/a%26b%20%3Cc%3E%2F..%2F%3Fx%3D1?on=1");
    EXPECT_EQ(s.body, "<name>a&amp;b &lt;c&gt;/../?x=1</name>");
    EXPECT_EQ(s.port, 8080);
}

TEST(http_golden, a_host_that_is_not_a_host_is_refused) {
    auto d = driver_from_yaml("plugs", "{type: http, preset: tasmota}");
    auto p = d->describe_action(power_action::on, sample_node(), "10.0.0.1\r\nX-Evil: 1");
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().find("is not a host name or address"), std::string::npos);
}

TEST(ipmi_golden, chassis_power_argv_with_password_in_the_environment) {
    auto d = driver_from_yaml("bmc", "{type: ipmi, user: ADMIN, password: s3cret}");
    for (auto a :
         {power_action::on, power_action::off, power_action::cycle, power_action::status}) {
        const auto p = plan_of(*d, a, sample_node(), "10.42.1.2");
        EXPECT_EQ(exec_at(p, 0).argv,
                  (argv_t{"ipmitool", "-I", "lanplus", "-H", "10.42.1.2", "-U", "ADMIN", "-E",
                          "chassis", "power", std::string(to_string(a))}));
        EXPECT_EQ(exec_at(p, 0).env,
                  (std::vector<std::pair<std::string, std::string>>{{"IPMI_PASSWORD", "s3cret"}}));
    }
    EXPECT_EQ(to_string(plan_of(*d, power_action::on, sample_node(), "bmc2")),
              "IPMI_PASSWORD=*** ipmitool -I lanplus -H bmc2 -U ADMIN -E chassis power on");
}

TEST(ipmi_golden, password_file_and_host_template) {
    auto d = driver_from_yaml("bmc", "{type: ipmi, host: 'bmc-{position:02}.lan', user: root, "
                                     "password_file: /etc/netbootd/ipmi.pw}");
    const auto p = plan_of(*d, power_action::off, sample_node(7, "node07"), "");
    EXPECT_EQ(exec_at(p, 0).argv,
              (argv_t{"ipmitool", "-I", "lanplus", "-H", "bmc-07.lan", "-U", "root", "-f",
                      "/etc/netbootd/ipmi.pw", "chassis", "power", "off"}));
    // The default host is the channel: one that looks like an option is refused.
    auto e = driver_from_yaml("bmc", "{type: ipmi}");
    EXPECT_FALSE(e->describe_action(power_action::on, sample_node(), "-oEvil"));
    EXPECT_TRUE(e->describe_action(power_action::on, sample_node(), "bmc-1"));
}

TEST(snmp_golden, poe_admin_enable_argv) {
    auto d = driver_from_yaml(
        "poe", "{type: snmp, host: switch1.lan, community: s3cret, cycle_delay: 4s}");
    const auto n = sample_node();
    EXPECT_EQ(exec_at(plan_of(*d, power_action::on, n, "12"), 0).argv,
              (argv_t{"snmpset", "-v", "2c", "-c", "s3cret", "-t", "5", "-r", "1", "switch1.lan",
                      "1.3.6.1.2.1.105.1.1.1.3.1.12", "i", "1"}));
    EXPECT_EQ(exec_at(plan_of(*d, power_action::off, n, "2.5"), 0).argv,
              (argv_t{"snmpset", "-v", "2c", "-c", "s3cret", "-t", "5", "-r", "1", "switch1.lan",
                      "1.3.6.1.2.1.105.1.1.1.3.2.5", "i", "2"}));
    EXPECT_EQ(exec_at(plan_of(*d, power_action::status, n, "12"), 0).argv,
              (argv_t{"snmpget", "-v", "2c", "-c", "s3cret", "-t", "5", "-r", "1", "-Oqv",
                      "switch1.lan", "1.3.6.1.2.1.105.1.1.1.3.1.12"}));
    const auto c = plan_of(*d, power_action::cycle, n, "12");
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(exec_at(c, 0).argv.back(), "2");
    EXPECT_EQ(std::get<sleep_step>(c[1]).duration, 4s);
    EXPECT_EQ(exec_at(c, 2).argv.back(), "1");
    EXPECT_FALSE(d->describe_action(power_action::on, n, "12; reboot"));
    EXPECT_FALSE(d->describe_action(power_action::on, n, ""));
}

TEST(snmp_golden, version3_arguments) {
    auto d = driver_from_yaml("poe", "{type: snmp, host: sw, version: 3, user: ops, auth_password: "
                                     "a1, priv_password: p1, timeout: 1500ms, retries: 0}");
    EXPECT_EQ(exec_at(plan_of(*d, power_action::on, sample_node(), "3"), 0).argv,
              (argv_t{"snmpset", "-v",  "3",   "-u", "ops", "-l",  "authPriv",
                      "-a",      "SHA", "-A",  "a1", "-x",  "AES", "-X",
                      "p1",      "-t",  "1.5", "-r", "0",   "sw",  "1.3.6.1.2.1.105.1.1.1.3.1.3",
                      "i",       "1"}));
}

TEST(gpio_golden, line_steps_and_dry_run_text) {
    auto d =
        driver_from_yaml("hat", "{type: gpio, chip: gpiochip2, active_low: true, cycle_delay: 1s}");
    const auto n = sample_node();
    const auto p = plan_of(*d, power_action::cycle, n, "17");
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(std::get<gpio_step>(p[0]), (gpio_step{"gpiochip2", 17, true, false}));
    EXPECT_EQ(std::get<gpio_step>(p[2]), (gpio_step{"gpiochip2", 17, true, true}));
    EXPECT_EQ(to_string(p), "gpio gpiochip2 line 17 = off (active-low)\nsleep 1s\ngpio gpiochip2 "
                            "line 17 = on (active-low)");
    EXPECT_FALSE(d->describe_action(power_action::on, n, "GPIO17"));
    EXPECT_FALSE(d->describe_action(power_action::on, n, "5000"));
}

TEST(gpio_golden, real_backend_reports_a_missing_chip) {
    // This kernel may have no GPIO chips at all; either way a missing chip is a clean error.
    auto d = driver_from_yaml("hat", "{type: gpio, chip: gpiochip-does-not-exist}");
    auto r = d->on(sample_node(), "4");
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("cannot open GPIO chip 'gpiochip-does-not-exist'"), std::string::npos)
        << r.error;
    auto s = d->status(sample_node(), "4");
    EXPECT_FALSE(s.ok);
    EXPECT_NE(s.error.find("not driven by this process"), std::string::npos) << s.error;
}

TEST(sim_golden, hook_sees_each_switch_in_order) {
    auto base = driver_from_yaml("sim", "{type: sim}");
    auto* sim = dynamic_cast<sim_driver*>(base.get());
    ASSERT_NE(sim, nullptr);
    std::vector<std::string> seen;
    sim->set_hook([&](const node& n, bool on) {
        seen.push_back(fmt::format("{}:{}", n.position, on ? "on" : "off"));
    });
    const auto n = sample_node(4, "node04");
    ASSERT_TRUE(sim->on(n, "").ok);
    ASSERT_TRUE(sim->cycle(n, "").ok);
    EXPECT_EQ(seen, (std::vector<std::string>{"4:on", "4:off", "4:on"}));
    EXPECT_EQ(sim->history(), (std::vector<std::string>{"4=on", "4=off", "4=on"}));
    EXPECT_TRUE(sim->is_on("4"));
}

} // namespace
} // namespace netbootd::power
