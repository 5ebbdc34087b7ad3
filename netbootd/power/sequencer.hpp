// Runs one power action over many nodes in position order: a stagger between starts, at most
// `max_parallel` nodes booting at once (between their power-on and their wait-for point), a
// timeout per node, and a failure of one node never stops the others. Time is injected, so the
// tests drive it with a fake clock; every action and outcome is published as a power.* event.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "netbootd/core/config.hpp"
#include "netbootd/core/event_bus.hpp"
#include "netbootd/core/node.hpp"
#include "netbootd/power/executor.hpp"

namespace netbootd::power {

using steady_time = std::chrono::steady_clock::time_point;

/// "", "dhcp", "tftp" or "up": how far a node must get after power-on before its slot is free.
enum class wait_point { none, dhcp, tftp, up };
std::optional<wait_point> parse_wait_point(std::string_view s);
std::string_view to_string(wait_point w);

struct sequence_options {
    power_action action = power_action::on;
    std::chrono::milliseconds stagger{0};
    int max_parallel = 4;
    /// Applies to on and cycle only.
    wait_point wait_for = wait_point::none;
    std::chrono::milliseconds timeout{120000};
    bool dry_run = false;
    /// How often the wait-for predicate is asked.
    std::chrono::milliseconds poll_interval{250};
};

struct sequence_clock {
    std::function<steady_time()> now;
    std::function<void(steady_time)> sleep_until;
    static sequence_clock real();
};

/// True once `n` has reached `w` since `since`. Called on the sequencer's thread.
using wait_predicate = std::function<bool(const node& n, wait_point w, steady_time since)>;

enum class outcome_kind { ok, failed, timed_out, planned, cancelled };
std::string_view to_string(outcome_kind k);

struct node_outcome {
    int position = 0;
    std::string hostname;
    outcome_kind kind = outcome_kind::ok;
    power_result result;
    /// The dry-run plan, one line per step.
    std::string plan;
    /// Power-on to wait-for point (or to the timeout).
    std::chrono::milliseconds waited{0};
};

struct sequence_report {
    std::vector<node_outcome> nodes;
    int count(outcome_kind k) const;
    bool success() const;
};

class sequencer {
  public:
    /// `events` may be null (no events); `wait` may be empty when wait_for is never used.
    sequencer(power_executor& exec, event_bus* events, sequence_clock clock,
              wait_predicate wait = {});
    /// Events go to `publish` instead (the daemon hands them to its io_context, since the
    /// sequencer runs on a worker thread and the bus's subscribers expect the io thread).
    using publisher = std::function<void(event)>;
    sequencer(power_executor& exec, publisher publish, sequence_clock clock,
              wait_predicate wait = {});

    /// Called after each node's outcome is known (progress lines).
    using progress = std::function<void(const node_outcome&)>;

    /// Runs the action over `nodes` in the given order (callers pass position order).
    sequence_report run(std::span<const node* const> nodes, const sequence_options& opt,
                        const progress& on_progress = {});

    /// Makes a running `run` stop starting nodes and return soon (from any thread).
    void cancel() { cancelled_ = true; }

  private:
    void publish(const node& n, std::string kind, severity level, nlohmann::json fields);

    power_executor& exec_;
    event_bus* events_;
    publisher publish_;
    sequence_clock clock_;
    wait_predicate wait_;
    std::atomic<bool> cancelled_{false};
};

/// Remembers, per position, when each wait point was last reached, from the event stream:
/// dhcp = any "dhcp.*" event for the node, tftp = any "tftp.*", up = "agent.up". Gives the
/// sequencer its wait predicate in the daemon.
class wait_tracker {
  public:
    explicit wait_tracker(event_bus& bus,
                          std::function<steady_time()> now = std::chrono::steady_clock::now);
    bool reached(const node& n, wait_point w, steady_time since) const;
    wait_predicate predicate() const {
        return [this](const node& n, wait_point w, steady_time s) { return reached(n, w, s); };
    }

  private:
    std::function<steady_time()> now_;
    mutable std::mutex mu_;
    std::map<std::pair<int, wait_point>, steady_time> seen_;
    event_bus::subscription sub_;
};

/// The reference cluster's start-up: everything off (in position order, no stagger), then on
/// in position order with the configured stagger, parallelism and wait point.
sequence_report run_start_sequence(sequencer& seq, std::span<const node* const> nodes,
                                   const power_sequence_config& cfg,
                                   const sequencer::progress& on_progress = {});

} // namespace netbootd::power
