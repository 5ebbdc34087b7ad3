// Durations as operators write them: "500ms", "2s", "5m", "12h", "1d", "1h30m".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace netbootd {

/// Parses one or more <number><unit> parts (units ms, s, m, h, d); a bare number means seconds.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Formats as the shortest exact form: 1500ms → "1500ms", 7200000ms → "2h".
std::string format_duration(std::chrono::milliseconds d);

} // namespace netbootd
