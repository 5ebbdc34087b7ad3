// Range expressions that cluster operators already type: node[01-60], red00[1-3], red[a-c],
// 10.42.0.[1-60], positions 1-60,62. Pure parsing; selection against the inventory lives in
// registry.hpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace netbootd {

/// Upper bound on what one expression may expand to, so a typo cannot allocate without limit.
inline constexpr std::size_t max_range_expansion = 100'000;

/// Expands bracket groups. A group holds comma-separated items, each a number, a number range
/// (`01-60`: zero-padded to the width of the lower bound when it has a leading zero), a letter or
/// a letter range (`a-c`). Several groups expand as a cartesian product, left to right. Text
/// without brackets expands to itself. Errors name the offending part.
tl::expected<std::vector<std::string>, std::string> expand_pattern(std::string_view expr);

/// Parses a position list: "1-60,62", "5", "all" is *not* accepted here (the caller knows what
/// "all" means). Returns positions sorted and without duplicates; positions are 1..max_position.
tl::expected<std::vector<int>, std::string> parse_positions(std::string_view expr,
                                                            int max_position = 1'000'000);

/// Splits on commas that are not inside brackets: "node[01-03,07],10.42.0.5" → 2 items.
std::vector<std::string_view> split_top_level(std::string_view expr);

} // namespace netbootd
