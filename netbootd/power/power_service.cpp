#include "netbootd/power/power_service.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "netbootd/power/enrollment.hpp"

namespace netbootd::power {

power_service::power_service(service_context& ctx) : ctx_(ctx), tracker_(ctx.events) {}

power_service::~power_service() {
    stop();
}

std::shared_ptr<driver_set> power_service::build(const cluster_config& cfg) {
    driver_set set;
    try {
        set = make_drivers(cfg);
    } catch (const config_error& e) {
        throw std::runtime_error(fmt::format("power: {}", e.what()));
    }
    auto out = std::make_shared<driver_set>(std::move(set));
    if (sim_hook_)
        for (const auto& n : out->names())
            if (auto* s = dynamic_cast<sim_driver*>(out->find(n)))
                s->set_hook(sim_hook_);
    return out;
}

sequencer::publisher power_service::publisher() {
    return [&io = ctx_.io, &bus = ctx_.events](event e) {
        boost::asio::post(io, [&bus, e = std::move(e)]() mutable { bus.publish(std::move(e)); });
    };
}

void power_service::start() {
    const auto reg = ctx_.registry.get();
    {
        auto set = build(reg->config());
        std::lock_guard lock(mu_);
        drivers_ = std::move(set);
        stopping_ = false;
        // Bounded: at most this many driver calls at once; more requests queue.
        pool_ = std::make_unique<boost::asio::thread_pool>(4);
    }
    if (!reg->config().power.sequence.on_start)
        return;
    start_thread_ = std::thread([this, reg] {
        try {
            std::vector<const node*> nodes;
            for (const auto& n : reg->nodes())
                if (n.power)
                    nodes.push_back(&n);
            spdlog::info(
                "power: start-up sequence over {} nodes (off all, then on in position order)",
                nodes.size());
            std::shared_ptr<driver_set> drivers;
            {
                std::lock_guard lock(mu_);
                drivers = drivers_;
            }
            driver_executor exec(*drivers);
            sequencer seq(exec, publisher(), sequence_clock::real(), tracker_.predicate());
            {
                std::lock_guard lock(mu_);
                if (stopping_)
                    return;
                running_.push_back(&seq);
            }
            const auto report = run_start_sequence(seq, nodes, reg->config().power.sequence);
            {
                std::lock_guard lock(mu_);
                running_.erase(std::remove(running_.begin(), running_.end(), &seq), running_.end());
            }
            spdlog::info("power: start-up sequence done: {} ok, {} failed, {} timed out",
                         report.count(outcome_kind::ok), report.count(outcome_kind::failed),
                         report.count(outcome_kind::timed_out));
        } catch (const std::exception& e) {
            spdlog::error("power: start-up sequence: {}", e.what());
        }
    });
}

void power_service::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        for (auto* s : running_)
            s->cancel();
    }
    if (start_thread_.joinable())
        start_thread_.join();
    std::unique_ptr<boost::asio::thread_pool> pool;
    {
        std::lock_guard lock(mu_);
        pool = std::move(pool_);
    }
    if (pool) {
        pool->stop();
        pool->join();
    }
}

void power_service::reloaded(const registry_ptr& next) {
    try {
        auto set = build(next->config());
        std::lock_guard lock(mu_);
        drivers_ = std::move(set);
    } catch (const std::exception& e) {
        // The config loader accepted the file; a driver that cannot be built keeps the old set.
        spdlog::error("{}; keeping the previous power drivers", e.what());
    }
}

sequence_report power_service::run(std::span<const node* const> nodes, const sequence_options& opt,
                                   const sequencer::progress& on_progress) {
    std::shared_ptr<driver_set> drivers;
    {
        std::lock_guard lock(mu_);
        drivers = drivers_;
    }
    if (!drivers)
        drivers = std::make_shared<driver_set>();
    driver_executor exec(*drivers);
    sequencer seq(exec, publisher(), sequence_clock::real(), tracker_.predicate());
    {
        std::lock_guard lock(mu_);
        running_.push_back(&seq);
    }
    auto report = seq.run(nodes, opt, on_progress);
    std::lock_guard lock(mu_);
    running_.erase(std::remove(running_.begin(), running_.end(), &seq), running_.end());
    return report;
}

tl::expected<nlohmann::json, std::string> power_service::perform_now(int position,
                                                                     const std::string& action) {
    const auto parsed = parse_power_action(action);
    if (!parsed)
        return tl::unexpected("unknown action '" + action + "' (on, off, cycle, status)");
    const auto reg = ctx_.registry.get();
    // A configured (or enrolled) node, else the empty slot as `defaults.power` addresses it.
    auto target = slot_node(*reg, position);
    if (!target)
        return tl::unexpected(target.error());
    sequence_options opt;
    opt.action = *parsed;
    const node* one[] = {&*target};
    const auto report = run(one, opt);
    if (report.nodes.empty())
        return tl::unexpected(std::string("no outcome"));
    const auto& r = report.nodes.front().result;
    if (!r.ok)
        return tl::unexpected(r.error.empty() ? std::string("power action failed") : r.error);
    return nlohmann::json{{"position", position},
                          {"action", action},
                          {"state", std::string(to_string(r.state))},
                          {"detail", r.detail}};
}

void power_service::perform_async(int position, std::string action, action_done done) {
    std::lock_guard lock(mu_);
    if (!pool_ || stopping_) {
        boost::asio::post(ctx_.io, [done = std::move(done)] {
            done(tl::unexpected(std::string("the power service is not running")));
        });
        return;
    }
    boost::asio::post(*pool_, [this, position, action = std::move(action),
                               done = std::move(done)]() mutable {
        tl::expected<nlohmann::json, std::string> result;
        try {
            result = perform_now(position, action);
        } catch (const std::exception& e) {
            result = tl::unexpected(std::string("power: ") + e.what());
        }
        // Posted after the action's events, so the reply follows them on the io thread.
        boost::asio::post(ctx_.io, [done = std::move(done), result = std::move(result)]() mutable {
            done(std::move(result));
        });
    });
}

void power_service::set_sim_hook(sim_driver::hook h) {
    std::lock_guard lock(mu_);
    sim_hook_ = std::move(h);
    if (drivers_)
        for (const auto& n : drivers_->names())
            if (auto* s = dynamic_cast<sim_driver*>(drivers_->find(n)))
                s->set_hook(sim_hook_);
}

std::unique_ptr<service> make_service(service_context& ctx) {
    return std::make_unique<power_service>(ctx);
}

} // namespace netbootd::power
