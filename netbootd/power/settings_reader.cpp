#include "netbootd/power/settings_reader.hpp"

#include <fmt/format.h>

#include "netbootd/core/duration.hpp"

namespace netbootd::power {

settings_reader::settings_reader(const power_driver_config& cfg, std::string file)
    : cfg_(cfg), file_(std::move(file)) {}

void settings_reader::error_at(const YAML::Node& at, std::string message) {
    int line = cfg_.line;
    int column = 1;
    if (at.IsDefined()) {
        const auto mark = at.Mark();
        if (mark.line >= 0) {
            line = mark.line + 1;
            column = mark.column + 1;
        }
    }
    diags_.push_back(diagnostic{
        file_, line, column, fmt::format("power driver '{}': {}", cfg_.name, std::move(message))});
}

void settings_reader::error(std::string_view key, std::string message) {
    auto n = get(key);
    error_at(n.IsDefined() ? n : cfg_.settings, std::move(message));
}

YAML::Node settings_reader::get(std::string_view key) const {
    if (!cfg_.settings.IsMap())
        return YAML::Node(YAML::NodeType::Undefined);
    // operator[] on a const node never inserts.
    const YAML::Node& m = cfg_.settings;
    return m[std::string(key)];
}

bool settings_reader::has(std::string_view key) const {
    auto n = get(key);
    return n.IsDefined() && !n.IsNull();
}

void settings_reader::allow(std::initializer_list<std::string_view> allowed) {
    if (!cfg_.settings.IsMap())
        return;
    for (const auto& kv : cfg_.settings) {
        const auto key = kv.first.as<std::string>();
        bool ok = key == "type";
        for (auto a : allowed)
            ok = ok || key == a;
        if (!ok) {
            std::string list;
            for (auto a : allowed)
                list += (list.empty() ? "" : ", ") + std::string(a);
            error_at(kv.first,
                     fmt::format("unknown key '{}' for a {} driver (known keys: type, {})", key,
                                 cfg_.type, list));
        }
    }
}

std::optional<std::string> settings_reader::string(std::string_view key, bool required) {
    auto n = get(key);
    if (!n.IsDefined() || n.IsNull()) {
        if (required)
            error_at(cfg_.settings, fmt::format("needs '{}'", key));
        return std::nullopt;
    }
    if (!n.IsScalar()) {
        error_at(n, fmt::format("'{}' must be a single value", key));
        return std::nullopt;
    }
    return n.Scalar();
}

std::optional<std::vector<std::string>> settings_reader::string_list(std::string_view key,
                                                                     bool required) {
    auto n = get(key);
    if (!n.IsDefined() || n.IsNull()) {
        if (required)
            error_at(cfg_.settings, fmt::format("needs '{}' (a list: program and arguments)", key));
        return std::nullopt;
    }
    if (!n.IsSequence() || n.size() == 0) {
        error_at(n,
                 fmt::format(
                     "'{}' must be a non-empty list like [\"relay-ctl\", \"on\", \"{{channel}}\"]; "
                     "each element is one argument, no shell",
                     key));
        return std::nullopt;
    }
    std::vector<std::string> out;
    for (const auto& item : n) {
        if (!item.IsScalar()) {
            error_at(item, fmt::format("each element of '{}' must be a single value", key));
            return std::nullopt;
        }
        out.push_back(item.Scalar());
    }
    if (out.front().empty()) {
        error_at(n, fmt::format("'{}' names no program", key));
        return std::nullopt;
    }
    return out;
}

std::optional<std::chrono::milliseconds> settings_reader::duration(std::string_view key) {
    auto s = string(key);
    if (!s)
        return std::nullopt;
    auto d = parse_duration(*s);
    if (!d || d->count() < 0) {
        error(key, fmt::format("'{}' must be a duration like 500ms, 5s or 1m, not '{}'", key, *s));
        return std::nullopt;
    }
    return d;
}

std::optional<long long> settings_reader::integer(std::string_view key, long long lo,
                                                  long long hi) {
    auto s = string(key);
    if (!s)
        return std::nullopt;
    try {
        std::size_t used = 0;
        const long long v = std::stoll(*s, &used, 10);
        if (used != s->size())
            throw std::invalid_argument("trailing");
        if (v < lo || v > hi) {
            error(key, fmt::format("'{}' is {}; it must be between {} and {}", key, v, lo, hi));
            return std::nullopt;
        }
        return v;
    } catch (const std::exception&) {
        error(key, fmt::format("'{}' must be a whole number, not '{}'", key, *s));
        return std::nullopt;
    }
}

std::optional<bool> settings_reader::boolean(std::string_view key) {
    auto s = string(key);
    if (!s)
        return std::nullopt;
    if (*s == "true" || *s == "yes" || *s == "on")
        return true;
    if (*s == "false" || *s == "no" || *s == "off")
        return false;
    error(key, fmt::format("'{}' must be true or false, not '{}'", key, *s));
    return std::nullopt;
}

} // namespace netbootd::power
