// The daemon's power service: start-up sequence from the config, events, stop during a sequence.
#include <gtest/gtest.h>

#include <thread>

#include "netbootd/power/power_service.hpp"

namespace netbootd::power {
namespace {

using namespace std::chrono_literals;

registry_ptr sim_cluster(const std::string& sequence) {
    return std::make_shared<const registry>(parse_config(R"(cluster:
  interface: eth0
  server_ip: 10.42.0.250
  subnet: 10.42.0.0/24
power:
  drivers:
    sim: { type: sim }
  sequence: )" + sequence + R"(
defaults:
  ip: "10.42.0.{position}"
  power: { driver: sim, channel: "{position}" }
nodes:
  - { position: 1, mac: "b8:27:eb:00:00:01" }
  - { position: 2, mac: "b8:27:eb:00:00:02" }
  - { position: 3, mac: "b8:27:eb:00:00:03" }
)",
                                                         "cluster.yaml"));
}

std::vector<std::string> power_events(const event_bus& bus) {
    std::vector<std::string> out;
    event_filter f;
    f.kind = "power.";
    for (const auto& e : bus.recent(f, 100))
        out.push_back(e.kind + ":" + std::to_string(e.position.value_or(0)));
    return out;
}

TEST(power_service, runs_the_start_sequence_off_all_then_on_in_order) {
    boost::asio::io_context io;
    registry_holder holder(sim_cluster("{ on_start: true, stagger: 10ms }"));
    event_bus bus;
    service_context ctx{io, holder, bus};
    power_service svc(ctx);
    std::vector<std::string> hooked;
    std::mutex mu;
    svc.set_sim_hook([&](const node& n, bool on) {
        std::lock_guard lock(mu);
        hooked.push_back(std::to_string(n.position) + (on ? "+" : "-"));
    });
    svc.start();
    for (int i = 0; i < 500 && bus.counts()["power.on"] < 3; ++i)
        std::this_thread::sleep_for(10ms);
    svc.stop();
    EXPECT_EQ(power_events(bus),
              (std::vector<std::string>{"power.off:1", "power.off:2", "power.off:3", "power.on:1",
                                        "power.on:2", "power.on:3"}));
    std::lock_guard lock(mu);
    EXPECT_EQ(hooked, (std::vector<std::string>{"1-", "2-", "3-", "1+", "2+", "3+"}));
}

TEST(power_service, no_sequence_unless_configured) {
    boost::asio::io_context io;
    registry_holder holder(sim_cluster("{ on_start: false }"));
    event_bus bus;
    service_context ctx{io, holder, bus};
    power_service svc(ctx);
    svc.start();
    svc.stop();
    EXPECT_TRUE(power_events(bus).empty());
}

TEST(power_service, stop_cancels_a_long_sequence_promptly) {
    boost::asio::io_context io;
    registry_holder holder(sim_cluster("{ on_start: true, stagger: 1h }"));
    event_bus bus;
    service_context ctx{io, holder, bus};
    power_service svc(ctx);
    svc.start();
    for (int i = 0; i < 500 && bus.counts()["power.on"] < 1; ++i)
        std::this_thread::sleep_for(10ms);
    const auto t0 = std::chrono::steady_clock::now();
    svc.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    EXPECT_EQ(bus.counts()["power.on"], 1u);
}

TEST(power_service, run_uses_the_daemon_drivers_and_publishes) {
    boost::asio::io_context io;
    auto reg = sim_cluster("{ on_start: false }");
    registry_holder holder(reg);
    event_bus bus;
    service_context ctx{io, holder, bus};
    power_service svc(ctx);
    svc.start();
    auto sel = reg->select("2-3");
    ASSERT_TRUE(sel);
    sequence_options opt;
    opt.action = power_action::cycle;
    const auto report = svc.run(*sel, opt);
    EXPECT_TRUE(report.success());
    EXPECT_EQ(power_events(bus), (std::vector<std::string>{"power.cycle:2", "power.cycle:3"}));
    svc.stop();
}

} // namespace
} // namespace netbootd::power
