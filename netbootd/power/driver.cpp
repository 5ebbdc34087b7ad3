#include "netbootd/power/driver.hpp"

#include <thread>

#include <fmt/format.h>

#include "netbootd/power/http_client.hpp"

namespace netbootd::power {

step_runners step_runners::real() {
    step_runners r;
    r.exec = [](const process_request& req) { return run_process(req); };
    r.http = [](const http_step& s) { return send_http(s); };
    r.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
    return r;
}

namespace {

std::string bounded(std::string s, std::size_t max = 512) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
        s.pop_back();
    if (s.size() > max) {
        s.resize(max);
        s += "...";
    }
    return s;
}

} // namespace

step_outcome driver::run_step(const plan_step& s) {
    step_outcome o;
    if (const auto* e = std::get_if<exec_step>(&s)) {
        process_request req;
        req.argv = e->argv;
        req.env = e->env;
        req.timeout = e->timeout;
        const auto r = runners_.exec(req);
        o.ok = r.success();
        o.output = r.out;
        if (!o.ok)
            o.error =
                fmt::format("{}: {}", e->argv.empty() ? "" : e->argv.front(), r.describe_failure());
        return o;
    }
    if (const auto* h = std::get_if<http_step>(&s)) {
        const auto r = runners_.http(*h);
        o.output = r.body;
        if (r.status == 0)
            o.error = r.error;
        else if (r.status < 200 || r.status > 299)
            o.error = fmt::format("HTTP {} from {}:{}: {}", r.status, h->host, h->port,
                                  bounded(r.body, 200));
        else
            o.ok = true;
        return o;
    }
    if (const auto* sl = std::get_if<sleep_step>(&s)) {
        runners_.sleep(sl->duration);
        o.ok = true;
        return o;
    }
    o.error = fmt::format("driver '{}' cannot run step '{}'", name_, to_string(s));
    return o;
}

power_state driver::interpret_status(const std::string& output) const {
    return parse_state_word(output);
}

power_result driver::perform(power_action a, const node& n, const std::string& channel) {
    try {
        auto plan = describe_action(a, n, channel);
        if (!plan)
            return power_result::failure(plan.error());
        std::string last_output;
        for (const auto& step : *plan) {
            auto o = run_step(step);
            if (!o.ok)
                return power_result::failure(std::move(o.error), bounded(o.output));
            last_output = std::move(o.output);
        }
        if (a == power_action::status) {
            const auto st = interpret_status(last_output);
            if (st == power_state::unknown)
                return power_result::failure(
                    fmt::format("cannot read the state from '{}'", bounded(last_output, 200)),
                    bounded(last_output));
            return power_result::success(st, bounded(last_output));
        }
        return power_result::success(state_after(a), bounded(last_output));
    } catch (const std::exception& e) {
        // One catch wall per action: a driver bug must not end a power sequence.
        return power_result::failure(fmt::format("driver '{}': {}", name_, e.what()));
    }
}

template_vars target_vars(const node& n, const std::string& channel) {
    template_vars v;
    v["channel"] = channel;
    v["position"] = std::int64_t{n.position};
    v["hostname"] = n.hostname;
    v["mac"] = n.mac.to_string();
    v["ip"] = n.ip.to_string();
    v["serial"] = n.serial ? format_serial(*n.serial) : std::string();
    std::size_t start = 0;
    for (int i = 1;; ++i) {
        const auto slash = channel.find('/', start);
        v[fmt::format("channel_{}", i)] = channel.substr(start, slash - start);
        if (slash == std::string::npos)
            break;
        start = slash + 1;
    }
    return v;
}

tl::expected<std::vector<std::string>, std::string>
render_argv(const std::vector<std::string>& tmpl, const template_vars& vars) {
    std::vector<std::string> out;
    out.reserve(tmpl.size());
    for (const auto& t : tmpl) {
        auto r = render_template(t, vars);
        if (!r)
            return tl::unexpected(fmt::format("template '{}': {}", t, r.error().message));
        out.push_back(std::move(*r));
    }
    return out;
}

power_state parse_state_word(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size() &&
           (text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r'))
        ++i;
    std::string word;
    while (i < text.size() && text[i] != ' ' && text[i] != '\n' && text[i] != '\t' &&
           text[i] != '\r')
        word += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i++])));
    if (word == "on" || word == "1" || word == "true" || word == "yes")
        return power_state::on;
    if (word == "off" || word == "0" || word == "false" || word == "no")
        return power_state::off;
    return power_state::unknown;
}

power_state match_status(const std::string& output, const std::string& on_text,
                         const std::string& off_text) {
    if (!on_text.empty() && output.find(on_text) != std::string::npos)
        return power_state::on;
    if (!off_text.empty() && output.find(off_text) != std::string::npos)
        return power_state::off;
    if (!on_text.empty() || !off_text.empty())
        return power_state::unknown;
    return parse_state_word(output);
}

} // namespace netbootd::power
