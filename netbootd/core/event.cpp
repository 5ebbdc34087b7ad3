#include "netbootd/core/event.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace netbootd {

std::string_view to_string(severity s) {
    switch (s) {
    case severity::debug:
        return "debug";
    case severity::info:
        return "info";
    case severity::warning:
        return "warning";
    case severity::error:
        return "error";
    }
    return "info";
}

nlohmann::json to_json(const event& e) {
    nlohmann::json j;
    j["seq"] = e.seq;
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(e.time.time_since_epoch()).count();
    const auto ms = us / 1000;
    j["time"] = fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z",
                            fmt::gmtime(std::chrono::system_clock::to_time_t(e.time)), ms % 1000);
    j["time_ms"] = ms;
    // Microseconds for latency measurements (bench/api.sh): the bus stamps events with the
    // system clock's full precision, and milliseconds are too coarse for a p50 of a few ms.
    j["time_us"] = us;
    j["source"] = e.source;
    j["kind"] = e.kind;
    j["level"] = to_string(e.level);
    if (e.position)
        j["position"] = *e.position;
    if (e.mac)
        j["mac"] = e.mac->to_string();
    if (e.ip)
        j["ip"] = e.ip->to_string();
    j["fields"] = e.fields;
    return j;
}

std::string to_line(const event& e) {
    std::string out = e.kind;
    if (e.position)
        fmt::format_to(std::back_inserter(out), " pos={}", *e.position);
    if (e.mac)
        fmt::format_to(std::back_inserter(out), " mac={}", e.mac->to_string());
    if (e.ip)
        fmt::format_to(std::back_inserter(out), " ip={}", e.ip->to_string());
    for (const auto& [k, v] : e.fields.items()) {
        if (v.is_string())
            fmt::format_to(std::back_inserter(out), " {}={}", k, v.get<std::string>());
        else
            fmt::format_to(std::back_inserter(out), " {}={}", k, v.dump());
    }
    return out;
}

} // namespace netbootd
