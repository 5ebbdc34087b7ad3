#include "netbootd/power/sequencer.hpp"

#include <algorithm>
#include <thread>

#include <fmt/format.h>

namespace netbootd::power {

using std::chrono::milliseconds;

std::optional<wait_point> parse_wait_point(std::string_view s) {
    if (s.empty() || s == "none")
        return wait_point::none;
    if (s == "dhcp")
        return wait_point::dhcp;
    if (s == "tftp")
        return wait_point::tftp;
    if (s == "up")
        return wait_point::up;
    return std::nullopt;
}

std::string_view to_string(wait_point w) {
    switch (w) {
    case wait_point::none:
        return "none";
    case wait_point::dhcp:
        return "dhcp";
    case wait_point::tftp:
        return "tftp";
    case wait_point::up:
        return "up";
    }
    return "?";
}

std::string_view to_string(outcome_kind k) {
    switch (k) {
    case outcome_kind::ok:
        return "ok";
    case outcome_kind::failed:
        return "failed";
    case outcome_kind::timed_out:
        return "timed out";
    case outcome_kind::planned:
        return "planned";
    case outcome_kind::cancelled:
        return "cancelled";
    }
    return "?";
}

sequence_clock sequence_clock::real() {
    sequence_clock c;
    c.now = [] { return std::chrono::steady_clock::now(); };
    c.sleep_until = [](steady_time t) { std::this_thread::sleep_until(t); };
    return c;
}

int sequence_report::count(outcome_kind k) const {
    return static_cast<int>(std::count_if(nodes.begin(), nodes.end(),
                                          [k](const node_outcome& o) { return o.kind == k; }));
}

bool sequence_report::success() const {
    return std::all_of(nodes.begin(), nodes.end(), [](const node_outcome& o) {
        return o.kind == outcome_kind::ok || o.kind == outcome_kind::planned;
    });
}

sequencer::sequencer(power_executor& exec, event_bus* events, sequence_clock clock,
                     wait_predicate wait)
    : exec_(exec), events_(events), clock_(std::move(clock)), wait_(std::move(wait)) {}

sequencer::sequencer(power_executor& exec, publisher publish, sequence_clock clock,
                     wait_predicate wait)
    : exec_(exec), events_(nullptr), publish_(std::move(publish)), clock_(std::move(clock)),
      wait_(std::move(wait)) {}

void sequencer::publish(const node& n, std::string kind, severity level, nlohmann::json fields) {
    if (events_ == nullptr && !publish_)
        return;
    event e;
    e.position = n.position;
    e.mac = n.mac;
    e.ip = n.ip;
    e.source = "power";
    e.kind = std::move(kind);
    e.level = level;
    if (n.power) {
        fields["driver"] = n.power->driver;
        fields["channel"] = n.power->channel;
    }
    e.fields = std::move(fields);
    if (publish_)
        publish_(std::move(e));
    else
        events_->publish(std::move(e));
}

sequence_report sequencer::run(std::span<const node* const> nodes, const sequence_options& opt,
                               const progress& on_progress) {
    sequence_report report;
    report.nodes.reserve(nodes.size());
    const auto action = std::string(to_string(opt.action));
    auto done = [&](node_outcome o) {
        report.nodes.push_back(std::move(o));
        if (on_progress)
            on_progress(report.nodes.back());
    };
    auto base = [](const node& n) {
        node_outcome o;
        o.position = n.position;
        o.hostname = n.hostname;
        return o;
    };

    if (opt.dry_run) {
        for (const node* n : nodes) {
            auto o = base(*n);
            auto plan = exec_.describe(opt.action, *n);
            if (plan) {
                o.kind = outcome_kind::planned;
                o.plan = *plan;
                o.result = power_result::success(state_after(opt.action));
                publish(*n, "power.planned", severity::info, {{"action", action}, {"plan", *plan}});
            } else {
                o.kind = outcome_kind::failed;
                o.result = power_result::failure(plan.error());
                publish(*n, "power.failed", severity::error,
                        {{"action", action}, {"error", plan.error()}, {"dry_run", true}});
            }
            done(std::move(o));
        }
        return report;
    }

    const bool waits = opt.wait_for != wait_point::none && wait_ &&
                       (opt.action == power_action::on || opt.action == power_action::cycle);
    // Status reads switch nothing, so they need no spacing.
    const auto stagger = opt.action == power_action::status ? milliseconds(0) : opt.stagger;
    const std::size_t slots =
        opt.max_parallel <= 0 ? nodes.size() + 1 : static_cast<std::size_t>(opt.max_parallel);
    const auto poll = std::max(opt.poll_interval, milliseconds(1));

    struct booting {
        const node* n;
        steady_time since;
        steady_time deadline;
        power_result result;
    };
    std::vector<booting> inflight;
    std::size_t next = 0;
    auto next_start = clock_.now();

    while (next < nodes.size() || !inflight.empty()) {
        auto now = clock_.now();
        // Nodes that reached their wait point, or ran out of time, free their slot.
        for (auto it = inflight.begin(); it != inflight.end();) {
            const auto waited = std::chrono::duration_cast<milliseconds>(now - it->since);
            if (wait_(*it->n, opt.wait_for, it->since)) {
                auto o = base(*it->n);
                o.kind = outcome_kind::ok;
                o.result = it->result;
                o.waited = waited;
                publish(*it->n, "power.ready", severity::info,
                        {{"wait_for", to_string(opt.wait_for)}, {"after_ms", waited.count()}});
                done(std::move(o));
                it = inflight.erase(it);
            } else if (now >= it->deadline) {
                auto o = base(*it->n);
                o.kind = outcome_kind::timed_out;
                o.result = it->result;
                o.result.ok = false;
                o.result.error = fmt::format("did not reach {} within {} ms",
                                             to_string(opt.wait_for), opt.timeout.count());
                o.waited = waited;
                publish(
                    *it->n, "power.timeout", severity::warning,
                    {{"wait_for", to_string(opt.wait_for)}, {"timeout_ms", opt.timeout.count()}});
                done(std::move(o));
                it = inflight.erase(it);
            } else {
                ++it;
            }
        }
        if (cancelled_) {
            for (auto& b : inflight) {
                auto o = base(*b.n);
                o.kind = outcome_kind::cancelled;
                o.result = power_result::failure("sequence cancelled");
                done(std::move(o));
            }
            inflight.clear();
            for (; next < nodes.size(); ++next) {
                auto o = base(*nodes[next]);
                o.kind = outcome_kind::cancelled;
                o.result = power_result::failure("sequence cancelled");
                done(std::move(o));
            }
            break;
        }
        if (next < nodes.size() && inflight.size() < slots && now >= next_start) {
            const node& n = *nodes[next++];
            const auto t0 = now;
            auto r = exec_.perform(opt.action, n);
            const auto took = std::chrono::duration_cast<milliseconds>(clock_.now() - t0);
            if (!r.ok) {
                publish(n, "power.failed", severity::error,
                        {{"action", action}, {"error", r.error}, {"duration_ms", took.count()}});
                auto o = base(n);
                o.kind = outcome_kind::failed;
                o.result = std::move(r);
                done(std::move(o));
                // Nothing was switched, so the next node need not wait the stagger.
                continue;
            }
            nlohmann::json f{{"state", to_string(r.state)}, {"duration_ms", took.count()}};
            if (!r.detail.empty())
                f["detail"] = r.detail;
            publish(n, "power." + action, severity::info, std::move(f));
            next_start = t0 + stagger;
            if (waits) {
                inflight.push_back(booting{&n, t0, t0 + opt.timeout, std::move(r)});
            } else {
                auto o = base(n);
                o.kind = outcome_kind::ok;
                o.result = std::move(r);
                done(std::move(o));
            }
            continue;
        }
        // Sleep until the next thing can happen: a start, a poll of the booting nodes, a deadline.
        auto wake = steady_time::max();
        if (next < nodes.size() && inflight.size() < slots)
            wake = std::min(wake, next_start);
        if (!inflight.empty()) {
            wake = std::min(wake, now + poll);
            for (const auto& b : inflight)
                wake = std::min(wake, b.deadline);
        }
        if (wake == steady_time::max())
            break; // unreachable: the loop condition guarantees work
        // Sleep in slices no longer than the poll interval so that cancel() is seen soon.
        if (wake > now)
            clock_.sleep_until(std::min(wake, now + poll));
    }
    return report;
}

wait_tracker::wait_tracker(event_bus& bus, std::function<steady_time()> now)
    : now_(std::move(now)) {
    sub_ = bus.subscribe([this](const event& e) {
        if (!e.position)
            return;
        std::vector<wait_point> points;
        if (e.kind.rfind("dhcp.", 0) == 0)
            points = {wait_point::dhcp};
        else if (e.kind.rfind("tftp.", 0) == 0)
            points = {wait_point::dhcp, wait_point::tftp};
        else if (e.kind == "agent.up")
            points = {wait_point::dhcp, wait_point::tftp, wait_point::up};
        if (points.empty())
            return;
        const auto t = now_();
        std::lock_guard lock(mu_);
        for (auto p : points)
            seen_[{*e.position, p}] = t;
    });
}

bool wait_tracker::reached(const node& n, wait_point w, steady_time since) const {
    if (w == wait_point::none)
        return true;
    std::lock_guard lock(mu_);
    auto it = seen_.find({n.position, w});
    return it != seen_.end() && it->second >= since;
}

sequence_report run_start_sequence(sequencer& seq, std::span<const node* const> nodes,
                                   const power_sequence_config& cfg,
                                   const sequencer::progress& on_progress) {
    sequence_options off;
    off.action = power_action::off;
    off.max_parallel = 0;
    auto report = seq.run(nodes, off, on_progress);
    sequence_options on;
    on.action = power_action::on;
    on.stagger = cfg.stagger;
    on.max_parallel = cfg.max_parallel;
    on.wait_for = parse_wait_point(cfg.wait_for).value_or(wait_point::none);
    auto second = seq.run(nodes, on, on_progress);
    report.nodes.insert(report.nodes.end(), second.nodes.begin(), second.nodes.end());
    return report;
}

} // namespace netbootd::power
