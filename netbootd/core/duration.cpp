#include "netbootd/core/duration.hpp"

#include <charconv>
#include <fmt/format.h>

namespace netbootd {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    using std::chrono::milliseconds;
    if (text.empty())
        return std::nullopt;
    long long total = 0;
    std::size_t i = 0;
    bool bare = true;
    while (i < text.size()) {
        long long n = 0;
        auto [p, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
        if (ec != std::errc{} || n < 0 || n > 100'000'000)
            return std::nullopt;
        i = static_cast<std::size_t>(p - text.data());
        std::string_view unit;
        auto unit_end = text.find_first_of("0123456789", i);
        unit = text.substr(i, unit_end == std::string_view::npos ? text.npos : unit_end - i);
        i += unit.size();
        long long mult = 0;
        if (unit.empty()) {
            if (i != text.size() || !bare)
                return std::nullopt;
            mult = 1000;
        } else if (unit == "ms")
            mult = 1;
        else if (unit == "s")
            mult = 1000;
        else if (unit == "m" || unit == "min")
            mult = 60'000;
        else if (unit == "h")
            mult = 3'600'000;
        else if (unit == "d")
            mult = 86'400'000;
        else
            return std::nullopt;
        bare = false;
        total += n * mult;
    }
    return milliseconds(total);
}

std::string format_duration(std::chrono::milliseconds d) {
    const long long ms = d.count();
    if (ms != 0 && ms % 86'400'000 == 0)
        return fmt::format("{}d", ms / 86'400'000);
    if (ms != 0 && ms % 3'600'000 == 0)
        return fmt::format("{}h", ms / 3'600'000);
    if (ms != 0 && ms % 60'000 == 0)
        return fmt::format("{}m", ms / 60'000);
    if (ms % 1000 == 0)
        return fmt::format("{}s", ms / 1000);
    return fmt::format("{}ms", ms);
}

} // namespace netbootd
