// The sequencer under a fake clock: stagger, max-parallel, wait-for, timeout, one node failing.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include <fmt/format.h>

#include "netbootd/power/sequencer.hpp"
#include "netbootd/power/sim_driver.hpp"
#include "test_support.hpp"

namespace netbootd::power {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using testing::sample_node;

struct fake_clock {
    steady_time t{};
    sequence_clock clock() {
        return sequence_clock{[this] { return t; },
                              [this](steady_time until) { t = std::max(t, until); }};
    }
    milliseconds since_start() const {
        return std::chrono::duration_cast<milliseconds>(t - steady_time{});
    }
};

// Records when each action happened; fails the positions it is told to.
class fake_executor : public power_executor {
  public:
    explicit fake_executor(fake_clock& c) : clock_(c) {}
    power_result perform(power_action a, const node& n) override {
        calls.push_back({n.position, a, clock_.since_start()});
        if (failing.count(n.position))
            return power_result::failure(fmt::format("relay {} did not answer", n.position));
        clock_.t += took;
        return power_result::success(state_after(a));
    }
    tl::expected<std::string, std::string> describe(power_action a, const node& n) const override {
        if (failing.count(n.position))
            return tl::unexpected(std::string("no such relay"));
        return fmt::format("relay-ctl {} {}", to_string(a), n.position);
    }
    struct call {
        int position;
        power_action action;
        milliseconds at;
    };
    std::vector<call> calls;
    std::set<int> failing;
    milliseconds took{0};

  private:
    fake_clock& clock_;
};

class sequencer_test : public ::testing::Test {
  protected:
    sequencer_test() {
        for (int i = 1; i <= 6; ++i) {
            auto n = sample_node(i, fmt::format("node{:02}", i));
            n.mac.bytes[5] = static_cast<std::uint8_t>(i);
            n.power = power_binding{"relays", std::to_string(i)};
            nodes_.push_back(n);
        }
        for (const auto& n : nodes_)
            ptrs_.push_back(&n);
        sub_ = bus_.subscribe([this](const event& e) { events_.push_back(e); });
    }

    // A node reaches its wait point `boot_time` after it was powered (never when absent).
    wait_predicate boots_after(std::map<int, milliseconds> boot_time) {
        return [this, boot_time](const node& n, wait_point, steady_time since) {
            auto it = boot_time.find(n.position);
            return it != boot_time.end() && clock_.t >= since + it->second;
        };
    }

    std::vector<milliseconds> start_times() const {
        std::vector<milliseconds> out;
        for (const auto& c : exec_.calls)
            out.push_back(c.at);
        return out;
    }
    std::vector<std::string> kinds() const {
        std::vector<std::string> out;
        for (const auto& e : events_)
            out.push_back(fmt::format("{}:{}", e.kind, e.position.value_or(0)));
        return out;
    }

    fake_clock clock_;
    fake_executor exec_{clock_};
    event_bus bus_;
    std::vector<event> events_;
    event_bus::subscription sub_;
    std::vector<node> nodes_;
    std::vector<const node*> ptrs_;
};

TEST_F(sequencer_test, staggers_starts_in_position_order) {
    sequencer seq(exec_, &bus_, clock_.clock());
    sequence_options opt;
    opt.stagger = 2s;
    const auto report = seq.run(std::span(ptrs_).first(4), opt);
    EXPECT_EQ(start_times(), (std::vector<milliseconds>{0s, 2s, 4s, 6s}));
    std::vector<int> order;
    for (const auto& c : exec_.calls)
        order.push_back(c.position);
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
    EXPECT_TRUE(report.success());
    EXPECT_EQ(report.count(outcome_kind::ok), 4);
    EXPECT_EQ(kinds(),
              (std::vector<std::string>{"power.on:1", "power.on:2", "power.on:3", "power.on:4"}));
}

TEST_F(sequencer_test, stagger_counts_from_start_to_start) {
    exec_.took = 500ms; // a slow driver eats into the stagger instead of adding to it
    sequencer seq(exec_, &bus_, clock_.clock());
    sequence_options opt;
    opt.stagger = 2s;
    (void)seq.run(std::span(ptrs_).first(3), opt);
    EXPECT_EQ(start_times(), (std::vector<milliseconds>{0s, 2s, 4s}));
}

TEST_F(sequencer_test, max_parallel_bounds_nodes_waiting_for_their_boot) {
    sequencer seq(exec_, &bus_, clock_.clock(),
                  boots_after({{1, 10s}, {2, 10s}, {3, 10s}, {4, 10s}, {5, 10s}}));
    sequence_options opt;
    opt.max_parallel = 2;
    opt.wait_for = wait_point::dhcp;
    opt.timeout = 60s;
    const auto report = seq.run(std::span(ptrs_).first(5), opt);
    EXPECT_EQ(start_times(), (std::vector<milliseconds>{0s, 0s, 10s, 10s, 20s}));
    EXPECT_TRUE(report.success());
    ASSERT_EQ(report.nodes.size(), 5u);
    for (const auto& o : report.nodes)
        EXPECT_EQ(o.waited, 10s) << o.hostname;
    const auto k = kinds();
    EXPECT_EQ(std::count(k.begin(), k.end(), "power.ready:5"), 1);
}

TEST_F(sequencer_test, stagger_and_max_parallel_together) {
    sequencer seq(exec_, &bus_, clock_.clock(), boots_after({{1, 5s}, {2, 5s}, {3, 5s}, {4, 5s}}));
    sequence_options opt;
    opt.stagger = 2s;
    opt.max_parallel = 2;
    opt.wait_for = wait_point::tftp;
    const auto report = seq.run(std::span(ptrs_).first(4), opt);
    // 1 at 0, 2 at 2 (stagger), 3 when 1 is up (5), 4 when 2 is up (7).
    EXPECT_EQ(start_times(), (std::vector<milliseconds>{0s, 2s, 5s, 7s}));
    EXPECT_TRUE(report.success());
}

TEST_F(sequencer_test, a_node_that_never_boots_times_out_and_frees_its_slot) {
    sequencer seq(exec_, &bus_, clock_.clock(), boots_after({{1, 3s}, {3, 3s}}));
    sequence_options opt;
    opt.max_parallel = 1;
    opt.wait_for = wait_point::dhcp;
    opt.timeout = 30s;
    const auto report = seq.run(std::span(ptrs_).first(3), opt);
    EXPECT_EQ(start_times(), (std::vector<milliseconds>{0s, 3s, 33s}));
    ASSERT_EQ(report.nodes.size(), 3u);
    EXPECT_EQ(report.nodes[1].kind, outcome_kind::timed_out);
    EXPECT_EQ(report.nodes[1].waited, 30s);
    EXPECT_EQ(report.nodes[1].result.error, "did not reach dhcp within 30000 ms");
    EXPECT_EQ(report.count(outcome_kind::ok), 2);
    EXPECT_FALSE(report.success());
    const auto k = kinds();
    EXPECT_NE(std::find(k.begin(), k.end(), "power.timeout:2"), k.end());
    EXPECT_EQ(clock_.since_start(), 36s);
}

TEST_F(sequencer_test, one_failing_node_does_not_stop_the_others) {
    exec_.failing = {3};
    sequencer seq(exec_, &bus_, clock_.clock());
    sequence_options opt;
    opt.stagger = 1s;
    const auto report = seq.run(std::span(ptrs_).first(5), opt);
    // Node 3 switched nothing, so node 4 follows without a stagger.
    EXPECT_EQ(start_times(), (std::vector<milliseconds>{0s, 1s, 2s, 2s, 3s}));
    EXPECT_EQ(report.count(outcome_kind::ok), 4);
    EXPECT_EQ(report.count(outcome_kind::failed), 1);
    EXPECT_EQ(report.nodes[2].result.error, "relay 3 did not answer");
    auto failed = std::find_if(events_.begin(), events_.end(),
                               [](const event& e) { return e.kind == "power.failed"; });
    ASSERT_NE(failed, events_.end());
    EXPECT_EQ(failed->position, 3);
    EXPECT_EQ(failed->level, severity::error);
    EXPECT_EQ(failed->source, "power");
    EXPECT_EQ(failed->fields["error"], "relay 3 did not answer");
    EXPECT_EQ(failed->fields["action"], "on");
    EXPECT_EQ(failed->fields["driver"], "relays");
    EXPECT_EQ(failed->fields["channel"], "3");
}

TEST_F(sequencer_test, events_carry_the_node_and_its_binding) {
    sequencer seq(exec_, &bus_, clock_.clock());
    sequence_options opt;
    opt.action = power_action::off;
    (void)seq.run(std::span(ptrs_).first(1), opt);
    ASSERT_EQ(events_.size(), 1u);
    EXPECT_EQ(events_[0].kind, "power.off");
    EXPECT_EQ(events_[0].position, 1);
    EXPECT_EQ(events_[0].mac, nodes_[0].mac);
    EXPECT_EQ(events_[0].ip, nodes_[0].ip);
    EXPECT_EQ(events_[0].fields["state"], "off");
    EXPECT_EQ(events_[0].fields["driver"], "relays");
}

TEST_F(sequencer_test, dry_run_plans_without_acting) {
    exec_.failing = {2};
    sequencer seq(exec_, &bus_, clock_.clock());
    sequence_options opt;
    opt.dry_run = true;
    opt.stagger = 2s;
    const auto report = seq.run(std::span(ptrs_).first(3), opt);
    EXPECT_TRUE(exec_.calls.empty());
    ASSERT_EQ(report.nodes.size(), 3u);
    EXPECT_EQ(report.nodes[0].kind, outcome_kind::planned);
    EXPECT_EQ(report.nodes[0].plan, "relay-ctl on 1");
    EXPECT_EQ(report.nodes[1].kind, outcome_kind::failed);
    EXPECT_EQ(kinds(),
              (std::vector<std::string>{"power.planned:1", "power.failed:2", "power.planned:3"}));
    EXPECT_EQ(clock_.since_start(), 0s);
}

TEST_F(sequencer_test, status_reads_need_no_stagger_and_no_wait) {
    sequencer seq(exec_, &bus_, clock_.clock(), boots_after({}));
    sequence_options opt;
    opt.action = power_action::status;
    opt.stagger = 5s;
    opt.wait_for = wait_point::up;
    const auto report = seq.run(std::span(ptrs_).first(3), opt);
    EXPECT_EQ(start_times(), (std::vector<milliseconds>{0s, 0s, 0s}));
    EXPECT_TRUE(report.success());
}

TEST_F(sequencer_test, cancel_stops_starting_nodes) {
    sequencer seq(exec_, &bus_, clock_.clock());
    sequence_options opt;
    opt.stagger = 1s;
    const auto report = seq.run(std::span(ptrs_).first(4), opt, [&](const node_outcome& o) {
        if (o.position == 2)
            seq.cancel();
    });
    EXPECT_EQ(exec_.calls.size(), 2u);
    EXPECT_EQ(report.count(outcome_kind::cancelled), 2);
}

TEST_F(sequencer_test, progress_reports_each_node_once) {
    sequencer seq(exec_, &bus_, clock_.clock(), boots_after({{1, 1s}, {2, 1s}, {3, 1s}}));
    sequence_options opt;
    opt.wait_for = wait_point::dhcp;
    std::vector<int> seen;
    (void)seq.run(std::span(ptrs_).first(3), opt,
                  [&](const node_outcome& o) { seen.push_back(o.position); });
    EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
}

TEST_F(sequencer_test, start_sequence_turns_all_off_then_on_in_order) {
    auto sim = std::make_unique<sim_driver>("relays", sim_driver_settings{});
    auto* raw = sim.get();
    driver_set drivers;
    drivers.add(std::move(sim));
    driver_executor exec(drivers);
    sequencer seq(exec, &bus_, clock_.clock());
    power_sequence_config cfg;
    cfg.stagger = 2s;
    cfg.max_parallel = 4;
    const auto report = run_start_sequence(seq, std::span(ptrs_).first(3), cfg);
    EXPECT_TRUE(report.success());
    EXPECT_EQ(raw->history(),
              (std::vector<std::string>{"1=off", "2=off", "3=off", "1=on", "2=on", "3=on"}));
    EXPECT_EQ(clock_.since_start(), 4s);
}

TEST_F(sequencer_test, node_without_binding_fails_cleanly) {
    driver_set drivers;
    driver_executor exec(drivers);
    sequencer seq(exec, &bus_, clock_.clock());
    auto n = nodes_[0];
    n.power.reset();
    const node* one[] = {&n};
    const auto report = seq.run(one, sequence_options{});
    ASSERT_EQ(report.nodes.size(), 1u);
    EXPECT_EQ(report.nodes[0].kind, outcome_kind::failed);
    EXPECT_EQ(report.nodes[0].result.error,
              "node01 has no power binding (set 'power: {driver, channel}')");
}

TEST(wait_tracker, follows_dhcp_tftp_and_agent_events_per_position) {
    event_bus bus;
    steady_time now{};
    wait_tracker tracker(bus, [&] { return now; });
    auto n = sample_node(7, "node07");
    const auto since = now;
    EXPECT_FALSE(tracker.reached(n, wait_point::dhcp, since));
    now += 1s;
    event e;
    e.kind = "dhcp.discover";
    e.source = "dhcp";
    e.position = 7;
    bus.publish(e);
    EXPECT_TRUE(tracker.reached(n, wait_point::dhcp, since));
    EXPECT_FALSE(tracker.reached(n, wait_point::tftp, since));
    EXPECT_FALSE(tracker.reached(n, wait_point::dhcp, since + 2s))
        << "an earlier boot does not count";
    e.kind = "tftp.sent";
    bus.publish(e);
    EXPECT_TRUE(tracker.reached(n, wait_point::tftp, since));
    EXPECT_FALSE(tracker.reached(n, wait_point::up, since));
    e.kind = "agent.up";
    e.position = 8;
    bus.publish(e);
    EXPECT_FALSE(tracker.reached(n, wait_point::up, since));
}

} // namespace
} // namespace netbootd::power
