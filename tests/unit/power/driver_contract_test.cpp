// The contract every power driver keeps, run over each driver type against a stateful stand-in
// (fake relay/ipmitool/snmp programs run as real processes, a loopback HTTP plug, an in-memory
// GPIO backend, the simulator): on/off/status agree, cycle ends on, every action has a plan,
// failures come back as errors with text and never as exceptions.
#include <gtest/gtest.h>

#include <map>

#include <fmt/format.h>

#include "fake_plug_server.hpp"
#include "netbootd/power/gpio_driver.hpp"
#include "netbootd/power/http_driver.hpp"
#include "test_support.hpp"

namespace netbootd::power {
namespace {

using testing::data_dir;
using testing::driver_from_yaml;
using testing::fake_plug_server;
using testing::sample_node;
using testing::temp_dir;

class memory_gpio : public gpio_backend {
  public:
    explicit memory_gpio(bool broken = false) : broken_(broken) {}
    tl::expected<void, std::string> set(const gpio_step& s) override {
        if (broken_)
            return tl::unexpected(std::string("cannot request line: Device or resource busy"));
        lines_[s.line] = *s.value;
        return {};
    }
    tl::expected<bool, std::string> get(const gpio_step& s) override {
        if (broken_)
            return tl::unexpected(std::string("line not held"));
        auto it = lines_.find(s.line);
        if (it == lines_.end())
            return tl::unexpected(std::string("line not driven by this process"));
        return it->second;
    }

  private:
    bool broken_;
    std::map<unsigned, bool> lines_;
};

// One driver under test with whatever stands in for its hardware.
struct harness {
    virtual ~harness() = default;
    std::unique_ptr<driver> working;
    std::unique_ptr<driver> failing;
    std::string channel;
};

struct driver_case {
    std::string name;
    std::function<std::unique_ptr<harness>()> make;
};

std::unique_ptr<harness> sim_harness() {
    auto h = std::make_unique<harness>();
    h->working = driver_from_yaml("sim", "{type: sim}");
    h->failing = driver_from_yaml("sim", "{type: sim, fail: ['5']}");
    h->channel = "5";
    return h;
}

struct dir_harness : harness {
    temp_dir dir;
};

std::unique_ptr<harness> command_harness() {
    auto h = std::make_unique<dir_harness>();
    const auto relay = data_dir() + "/fake-relay";
    h->working = driver_from_yaml("relays", fmt::format(R"({{type: command, cycle_delay: 10ms,
        on: ["{0}", "{1}", "on", "{{channel}}"], off: ["{0}", "{1}", "off", "{{channel}}"],
        status: ["{0}", "{1}", "get", "{{channel}}"]}})",
                                                        relay, h->dir.str()));
    h->failing = driver_from_yaml("relays",
                                  R"({type: command, cycle_delay: 0s, on: ["false"], off: ["false"],
        status: ["sh", "-c", "echo relay board not found >&2; exit 3"]})");
    h->channel = "7";
    return h;
}

struct env_harness : dir_harness {
    env_harness() { ::setenv("FAKE_POWER_DIR", dir.str().c_str(), 1); }
    ~env_harness() override { ::unsetenv("FAKE_POWER_DIR"); }
};

std::unique_ptr<harness> ipmi_harness() {
    auto h = std::make_unique<env_harness>();
    h->working = driver_from_yaml(
        "bmc",
        fmt::format("{{type: ipmi, program: '{}/fake-ipmitool', user: ADMIN, password: s3cret}}",
                    data_dir()));
    h->failing =
        driver_from_yaml("bmc", "{type: ipmi, program: /nonexistent/ipmitool, timeout: 2s}");
    h->channel = "10.42.0.102";
    return h;
}

std::unique_ptr<harness> snmp_harness() {
    auto h = std::make_unique<env_harness>();
    h->working = driver_from_yaml(
        "poe", fmt::format("{{type: snmp, host: switch1, cycle_delay: 10ms, "
                           "snmpset: '{0}/fake-snmpset', snmpget: '{0}/fake-snmpget'}}",
                           data_dir()));
    h->failing =
        driver_from_yaml("poe", "{type: snmp, host: switch1, snmpset: /nonexistent/snmpset, "
                                "snmpget: /nonexistent/snmpget}");
    h->channel = "1.12";
    return h;
}

std::unique_ptr<harness> gpio_harness() {
    auto h = std::make_unique<harness>();
    auto good = std::make_unique<gpio_driver>(
        "relays", gpio_driver_settings{"gpiochip0", true, std::chrono::milliseconds(10)},
        std::make_unique<memory_gpio>());
    auto bad = std::make_unique<gpio_driver>(
        "relays", gpio_driver_settings{"gpiochip0", true, std::chrono::milliseconds(0)},
        std::make_unique<memory_gpio>(true));
    h->working = std::move(good);
    h->failing = std::move(bad);
    h->channel = "17";
    return h;
}

struct http_harness : harness {
    fake_plug_server server;
    fake_plug_server broken{true};
};

std::unique_ptr<harness> http_harness_for(const std::string& preset, const std::string& channel) {
    auto h = std::make_unique<http_harness>();
    const std::string host = preset == "homematic" ? "host: 127.0.0.1, " : "";
    h->working = driver_from_yaml(
        "plugs",
        fmt::format("{{type: http, preset: {}, {}port: {}, timeout: 3s, cycle_delay: 10ms}}",
                    preset, host, h->server.port()));
    h->failing = driver_from_yaml(
        "plugs", fmt::format("{{type: http, preset: {}, {}port: {}, timeout: 3s, cycle_delay: 0s}}",
                             preset, host, h->broken.port()));
    h->channel = channel;
    return h;
}

class driver_contract : public ::testing::TestWithParam<driver_case> {
  protected:
    void SetUp() override { h_ = GetParam().make(); }
    std::unique_ptr<harness> h_;
    node n_ = sample_node();
};

TEST_P(driver_contract, every_action_has_a_plan) {
    for (auto a :
         {power_action::on, power_action::off, power_action::cycle, power_action::status}) {
        auto plan = h_->working->describe_action(a, n_, h_->channel);
        ASSERT_TRUE(plan) << to_string(a) << ": " << plan.error();
        EXPECT_FALSE(plan->empty()) << to_string(a);
        EXPECT_FALSE(to_string(*plan).empty());
    }
}

TEST_P(driver_contract, on_then_status_reads_on) {
    auto r = h_->working->on(n_, h_->channel);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.state, power_state::on);
    auto s = h_->working->status(n_, h_->channel);
    ASSERT_TRUE(s.ok) << s.error;
    EXPECT_EQ(s.state, power_state::on);
}

TEST_P(driver_contract, off_then_status_reads_off) {
    ASSERT_TRUE(h_->working->on(n_, h_->channel).ok);
    auto r = h_->working->off(n_, h_->channel);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.state, power_state::off);
    auto s = h_->working->status(n_, h_->channel);
    ASSERT_TRUE(s.ok) << s.error;
    EXPECT_EQ(s.state, power_state::off);
}

TEST_P(driver_contract, cycle_ends_on) {
    ASSERT_TRUE(h_->working->on(n_, h_->channel).ok);
    auto r = h_->working->cycle(n_, h_->channel);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.state, power_state::on);
    auto s = h_->working->status(n_, h_->channel);
    ASSERT_TRUE(s.ok) << s.error;
    EXPECT_EQ(s.state, power_state::on);
}

TEST_P(driver_contract, failures_are_errors_with_text) {
    for (auto a :
         {power_action::on, power_action::off, power_action::cycle, power_action::status}) {
        power_result r;
        ASSERT_NO_THROW(r = h_->failing->perform(a, n_, h_->channel)) << to_string(a);
        EXPECT_FALSE(r.ok) << to_string(a);
        EXPECT_FALSE(r.error.empty()) << to_string(a);
        EXPECT_EQ(r.state, power_state::unknown) << to_string(a);
    }
}

TEST_P(driver_contract, hostile_channel_never_throws) {
    for (const std::string ch :
         {"; rm -rf /", "$(reboot)", "-oProxyCommand=x", "a\r\nHost: evil", ""}) {
        power_result r;
        ASSERT_NO_THROW(r = h_->working->perform(power_action::on, n_, ch)) << ch;
        if (!r.ok) {
            EXPECT_FALSE(r.error.empty()) << ch;
        }
    }
}

TEST_P(driver_contract, driver_knows_its_name_and_type) {
    EXPECT_FALSE(h_->working->name().empty());
    EXPECT_FALSE(h_->working->type().empty());
}

INSTANTIATE_TEST_SUITE_P(
    all_drivers, driver_contract,
    ::testing::Values(
        driver_case{"sim", sim_harness}, driver_case{"command", command_harness},
        driver_case{"ipmi", ipmi_harness}, driver_case{"snmp", snmp_harness},
        driver_case{"gpio", gpio_harness},
        driver_case{"http_tasmota", [] { return http_harness_for("tasmota", "127.0.0.1"); }},
        driver_case{"http_shelly", [] { return http_harness_for("shelly", "127.0.0.1"); }},
        driver_case{"http_homematic",
                    [] { return http_harness_for("homematic", "LEQ0123456:1"); }}),
    [](const ::testing::TestParamInfo<driver_case>& p) { return p.param.name; });

} // namespace
} // namespace netbootd::power
