#include "netbootd/power/sim_driver.hpp"

#include <fmt/format.h>

namespace netbootd::power {

sim_driver::sim_driver(std::string name, sim_driver_settings s)
    : driver(std::move(name)), s_(std::move(s)) {}

std::unique_ptr<sim_driver> sim_driver::from_config(settings_reader& r) {
    r.allow({"fail", "initial", "cycle_delay"});
    sim_driver_settings s;
    if (auto v = r.string_list("fail"))
        s.fail.insert(v->begin(), v->end());
    if (auto v = r.string("initial")) {
        if (*v == "on")
            s.initial_on = true;
        else if (*v != "off")
            r.error("initial", fmt::format("'initial' must be on or off, not '{}'", *v));
    }
    if (auto v = r.duration("cycle_delay"))
        s.cycle_delay = *v;
    if (!r.ok())
        return nullptr;
    return std::make_unique<sim_driver>(r.driver_name(), std::move(s));
}

tl::expected<action_plan, std::string>
sim_driver::describe_action(power_action a, const node& n, const std::string& channel) const {
    const auto ch = channel.empty() ? std::to_string(n.position) : channel;
    switch (a) {
    case power_action::on:
        return action_plan{sim_step{ch, true}};
    case power_action::off:
        return action_plan{sim_step{ch, false}};
    case power_action::status:
        return action_plan{sim_step{ch, std::nullopt}};
    case power_action::cycle:
        return action_plan{sim_step{ch, false}, sleep_step{s_.cycle_delay}, sim_step{ch, true}};
    }
    return tl::unexpected(std::string("unknown action"));
}

power_result sim_driver::perform(power_action a, const node& n, const std::string& channel) {
    auto plan = describe_action(a, n, channel);
    if (!plan)
        return power_result::failure(plan.error());
    bool last = false;
    for (const auto& step : *plan) {
        if (const auto* sl = std::get_if<sleep_step>(&step)) {
            if (sl->duration.count() > 0)
                runners_.sleep(sl->duration);
            continue;
        }
        const auto& st = std::get<sim_step>(step);
        if (s_.fail.count(st.channel))
            return power_result::failure(
                fmt::format("simulated failure of channel {}", st.channel));
        hook h;
        {
            std::lock_guard lock(mu_);
            auto it = state_.find(st.channel);
            const bool current = it == state_.end() ? s_.initial_on : it->second;
            if (!st.value) {
                last = current;
                continue;
            }
            state_[st.channel] = *st.value;
            history_.push_back(fmt::format("{}={}", st.channel, *st.value ? "on" : "off"));
            last = *st.value;
            h = hook_;
        }
        if (h)
            h(n, *st.value);
    }
    return power_result::success(last ? power_state::on : power_state::off);
}

void sim_driver::set_hook(hook h) {
    std::lock_guard lock(mu_);
    hook_ = std::move(h);
}

bool sim_driver::is_on(const std::string& channel) const {
    std::lock_guard lock(mu_);
    auto it = state_.find(channel);
    return it == state_.end() ? s_.initial_on : it->second;
}

std::vector<std::string> sim_driver::history() const {
    std::lock_guard lock(mu_);
    return history_;
}

} // namespace netbootd::power
