// The daemon's power service: start-up sequence from the config, events, stop during a sequence.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include <boost/asio/post.hpp>

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

// The service publishes its events on the io_context, as in the daemon: run one.
struct io_thread {
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
        io.get_executor()};
    std::thread t{[this] { io.run(); }};
    ~io_thread() {
        work.reset();
        io.stop();
        t.join();
    }
    // Waits until every event posted so far has been delivered.
    void drain() {
        std::promise<void> p;
        boost::asio::post(io, [&p] { p.set_value(); });
        p.get_future().wait();
    }
};

std::vector<std::string> power_events(const event_bus& bus) {
    std::vector<std::string> out;
    event_filter f;
    f.kind = "power.";
    for (const auto& e : bus.recent(f, 100))
        out.push_back(e.kind + ":" + std::to_string(e.position.value_or(0)));
    return out;
}

TEST(power_service, runs_the_start_sequence_off_all_then_on_in_order) {
    io_thread iot;
    auto& io = iot.io;
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
    iot.drain();
    EXPECT_EQ(power_events(bus),
              (std::vector<std::string>{"power.off:1", "power.off:2", "power.off:3", "power.on:1",
                                        "power.on:2", "power.on:3"}));
    std::lock_guard lock(mu);
    EXPECT_EQ(hooked, (std::vector<std::string>{"1-", "2-", "3-", "1+", "2+", "3+"}));
}

TEST(power_service, no_sequence_unless_configured) {
    io_thread iot;
    auto& io = iot.io;
    registry_holder holder(sim_cluster("{ on_start: false }"));
    event_bus bus;
    service_context ctx{io, holder, bus};
    power_service svc(ctx);
    svc.start();
    svc.stop();
    iot.drain();
    EXPECT_TRUE(power_events(bus).empty());
}

TEST(power_service, stop_cancels_a_long_sequence_promptly) {
    io_thread iot;
    auto& io = iot.io;
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
    iot.drain();
    EXPECT_EQ(bus.counts()["power.on"], 1u);
}

TEST(power_service, run_uses_the_daemon_drivers_and_publishes) {
    io_thread iot;
    auto& io = iot.io;
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
    iot.drain();
    EXPECT_EQ(power_events(bus), (std::vector<std::string>{"power.cycle:2", "power.cycle:3"}));
    svc.stop();
}

TEST(power_service, perform_async_answers_on_the_io_thread_after_its_events) {
    io_thread iot;
    auto reg = sim_cluster("{ on_start: false }");
    registry_holder holder(reg);
    event_bus bus;
    service_context ctx{iot.io, holder, bus};
    power_service svc(ctx);
    svc.start();
    struct answer {
        tl::expected<nlohmann::json, std::string> result;
        bool on_io = false;
        std::uint64_t events_seen = 0;
    };
    auto ask = [&](int position, std::string action) {
        std::promise<answer> p;
        svc.perform_async(position, std::move(action), [&](auto r) {
            p.set_value(answer{std::move(r), iot.t.get_id() == std::this_thread::get_id(),
                               bus.counts()["power.on"]});
        });
        return p.get_future().get();
    };
    // Position 2 is a node; position 9 an empty slot powered through defaults.power.
    auto a = ask(2, "on");
    ASSERT_TRUE(a.result.has_value()) << a.result.error();
    EXPECT_EQ((*a.result)["state"], "on");
    EXPECT_TRUE(a.on_io);
    EXPECT_EQ(a.events_seen, 1u) << "the power.on event is published before the answer";
    auto b = ask(9, "on");
    ASSERT_TRUE(b.result.has_value()) << b.result.error();
    EXPECT_EQ((*b.result)["position"], 9);
    auto c = ask(2, "explode");
    ASSERT_FALSE(c.result.has_value());
    EXPECT_NE(c.result.error().find("unknown action"), std::string::npos);
    iot.drain();
    EXPECT_EQ(power_events(bus), (std::vector<std::string>{"power.on:2", "power.on:9"}));
    svc.stop();
}

} // namespace
} // namespace netbootd::power
