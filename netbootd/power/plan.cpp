#include "netbootd/power/plan.hpp"

#include <fmt/format.h>

#include "netbootd/core/duration.hpp"

namespace netbootd::power {

std::string shell_quote(std::string_view arg) {
    if (arg.empty())
        return "''";
    bool plain = true;
    for (char c : arg) {
        const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '/' ||
                          c == ':' || c == '=' || c == ',' || c == '+' || c == '@' || c == '%';
        plain = plain && safe;
    }
    if (plain)
        return std::string(arg);
    std::string out = "'";
    for (char c : arg) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    out += '\'';
    return out;
}

namespace {

struct printer {
    std::string operator()(const exec_step& s) const {
        std::string out;
        for (const auto& [k, v] : s.env)
            out += fmt::format("{}=*** ", k);
        for (std::size_t i = 0; i < s.argv.size(); ++i) {
            if (i > 0)
                out += ' ';
            out += shell_quote(s.argv[i]);
        }
        return out;
    }
    std::string operator()(const http_step& s) const {
        std::string out = fmt::format("{} http://{}:{}{}", s.method, s.host, s.port, s.target);
        for (const auto& [k, v] : s.headers)
            out += fmt::format("\n  {}: {}", k, k == "Authorization" ? "***" : v);
        if (!s.body.empty())
            out += "\n  " + s.body;
        return out;
    }
    std::string operator()(const gpio_step& s) const {
        if (!s.value)
            return fmt::format("gpio {} line {} read{}", s.chip, s.line,
                               s.active_low ? " (active-low)" : "");
        return fmt::format("gpio {} line {} = {}{}", s.chip, s.line, *s.value ? "on" : "off",
                           s.active_low ? " (active-low)" : "");
    }
    std::string operator()(const sleep_step& s) const {
        return fmt::format("sleep {}", format_duration(s.duration));
    }
    std::string operator()(const sim_step& s) const {
        if (!s.value)
            return fmt::format("sim {} read", s.channel);
        return fmt::format("sim {} = {}", s.channel, *s.value ? "on" : "off");
    }
};

} // namespace

std::string to_string(const plan_step& s) {
    return std::visit(printer{}, s);
}

std::string to_string(const action_plan& p) {
    std::string out;
    for (const auto& s : p) {
        if (!out.empty())
            out += '\n';
        out += to_string(s);
    }
    return out;
}

} // namespace netbootd::power
