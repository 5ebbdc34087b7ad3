#include "netbootd/power/command_driver.hpp"

#include <fmt/format.h>

namespace netbootd::power {

command_driver::command_driver(std::string name, command_driver_settings s)
    : driver(std::move(name)), s_(std::move(s)) {}

std::unique_ptr<command_driver> command_driver::from_config(settings_reader& r) {
    r.allow({"on", "off", "status", "cycle", "cycle_delay", "timeout", "status_on", "status_off"});
    command_driver_settings s;
    if (auto v = r.string_list("on", true))
        s.on = *v;
    if (auto v = r.string_list("off", true))
        s.off = *v;
    if (auto v = r.string_list("status"))
        s.status = *v;
    if (auto v = r.string_list("cycle"))
        s.cycle = *v;
    if (auto v = r.duration("cycle_delay"))
        s.cycle_delay = *v;
    if (auto v = r.duration("timeout"))
        s.timeout = *v;
    if (auto v = r.string("status_on"))
        s.status_on = *v;
    if (auto v = r.string("status_off"))
        s.status_off = *v;
    // Templates are checked now against a sample node so an unknown {variable} is a config error,
    // not a failure at the first power-on.
    node sample;
    sample.position = 1;
    sample.hostname = "node01";
    const auto vars = target_vars(sample, "1");
    for (const auto* key : {"on", "off", "status", "cycle"}) {
        const auto& t = std::string_view(key) == "on"       ? s.on
                        : std::string_view(key) == "off"    ? s.off
                        : std::string_view(key) == "status" ? s.status
                                                            : s.cycle;
        if (auto rendered = render_argv(t, vars); !rendered)
            r.error(key, rendered.error());
    }
    if (!r.ok())
        return nullptr;
    return std::make_unique<command_driver>(r.driver_name(), std::move(s));
}

tl::expected<action_plan, std::string>
command_driver::describe_action(power_action a, const node& n, const std::string& channel) const {
    const auto vars = target_vars(n, channel);
    auto exec = [&](const std::vector<std::string>& tmpl) -> tl::expected<plan_step, std::string> {
        auto argv = render_argv(tmpl, vars);
        if (!argv)
            return tl::unexpected(argv.error());
        return exec_step{std::move(*argv), {}, s_.timeout};
    };
    action_plan plan;
    auto add = [&](const std::vector<std::string>& tmpl) -> bool {
        auto st = exec(tmpl);
        if (!st)
            return false;
        plan.push_back(std::move(*st));
        return true;
    };
    bool ok = true;
    switch (a) {
    case power_action::on:
        ok = add(s_.on);
        break;
    case power_action::off:
        ok = add(s_.off);
        break;
    case power_action::status:
        if (s_.status.empty())
            return tl::unexpected(fmt::format("driver '{}' has no 'status' command", name()));
        ok = add(s_.status);
        break;
    case power_action::cycle:
        if (!s_.cycle.empty()) {
            ok = add(s_.cycle);
        } else {
            ok = add(s_.off);
            plan.push_back(sleep_step{s_.cycle_delay});
            ok = ok && add(s_.on);
        }
        break;
    }
    if (!ok) {
        // Re-render to get the message (templates were checked at load; this is a safety net).
        for (const auto* t : {&s_.on, &s_.off, &s_.status, &s_.cycle})
            if (auto r = render_argv(*t, vars); !r)
                return tl::unexpected(r.error());
        return tl::unexpected(std::string("cannot render the command"));
    }
    return plan;
}

power_state command_driver::interpret_status(const std::string& output) const {
    return match_status(output, s_.status_on, s_.status_off);
}

} // namespace netbootd::power
