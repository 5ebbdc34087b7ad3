#include "netbootd/core/range.hpp"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>

namespace netbootd {
namespace {

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool parse_uint(std::string_view s, unsigned long& out) {
    if (!all_digits(s) || s.size() > 9)
        return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
}

// Expands the inside of one bracket group into its items.
tl::expected<std::vector<std::string>, std::string> expand_group(std::string_view body) {
    std::vector<std::string> out;
    if (body.empty())
        return tl::unexpected(std::string("empty brackets '[]'"));
    std::size_t start = 0;
    while (start <= body.size()) {
        auto comma = body.find(',', start);
        auto item = body.substr(start, comma == std::string_view::npos ? body.npos : comma - start);
        if (item.empty())
            return tl::unexpected(fmt::format("empty item in '[{}]'", std::string(body)));
        auto dash = item.find('-');
        if (dash == std::string_view::npos) {
            out.emplace_back(item);
        } else {
            auto lo_text = item.substr(0, dash);
            auto hi_text = item.substr(dash + 1);
            unsigned long lo = 0, hi = 0;
            if (parse_uint(lo_text, lo) && parse_uint(hi_text, hi)) {
                if (hi < lo)
                    return tl::unexpected(fmt::format("range '{}' runs backwards (write {}-{})",
                                                      std::string(item), std::string(hi_text),
                                                      std::string(lo_text)));
                if (hi - lo + 1 > max_range_expansion)
                    return tl::unexpected(fmt::format("range '{}' is too large (more than {})",
                                                      std::string(item), max_range_expansion));
                const bool padded = lo_text.size() > 1 && lo_text.front() == '0';
                const std::size_t width = padded ? lo_text.size() : 0;
                for (unsigned long v = lo; v <= hi; ++v)
                    out.push_back(fmt::format("{:0{}}", v, width));
            } else if (lo_text.size() == 1 && hi_text.size() == 1 &&
                       std::isalpha(static_cast<unsigned char>(lo_text[0])) &&
                       std::isalpha(static_cast<unsigned char>(hi_text[0])) &&
                       (std::islower(static_cast<unsigned char>(lo_text[0])) != 0) ==
                           (std::islower(static_cast<unsigned char>(hi_text[0])) != 0)) {
                if (hi_text[0] < lo_text[0])
                    return tl::unexpected(
                        fmt::format("range '{}' runs backwards", std::string(item)));
                for (char c = lo_text[0]; c <= hi_text[0]; ++c)
                    out.emplace_back(1, c);
            } else {
                return tl::unexpected(
                    fmt::format("bad range '{}': expected numbers (01-60) or letters (a-c)",
                                std::string(item)));
            }
        }
        if (comma == std::string_view::npos)
            break;
        start = comma + 1;
    }
    return out;
}

} // namespace

tl::expected<std::vector<std::string>, std::string> expand_pattern(std::string_view expr) {
    std::vector<std::string> results{""};
    std::size_t i = 0;
    while (i < expr.size()) {
        const char c = expr[i];
        if (c == ']')
            return tl::unexpected(
                fmt::format("unmatched ']' at column {} in '{}'", i + 1, std::string(expr)));
        if (c != '[') {
            auto next = expr.find_first_of("[]", i);
            auto lit = expr.substr(i, next == std::string_view::npos ? expr.npos : next - i);
            for (auto& r : results)
                r += lit;
            i += lit.size();
            continue;
        }
        auto close = expr.find(']', i);
        if (close == std::string_view::npos)
            return tl::unexpected(
                fmt::format("unterminated '[' at column {} in '{}'", i + 1, std::string(expr)));
        auto body = expr.substr(i + 1, close - i - 1);
        if (body.find('[') != std::string_view::npos)
            return tl::unexpected(fmt::format("nested '[' in '{}'", std::string(expr)));
        auto items = expand_group(body);
        if (!items)
            return tl::unexpected(fmt::format("{} in '{}'", items.error(), std::string(expr)));
        if (results.size() * items->size() > max_range_expansion)
            return tl::unexpected(fmt::format("'{}' expands to more than {} names",
                                              std::string(expr), max_range_expansion));
        std::vector<std::string> next;
        next.reserve(results.size() * items->size());
        for (const auto& r : results)
            for (const auto& it : *items)
                next.push_back(r + it);
        results = std::move(next);
        i = close + 1;
    }
    if (expr.empty())
        return tl::unexpected(std::string("empty expression"));
    return results;
}

tl::expected<std::vector<int>, std::string> parse_positions(std::string_view expr,
                                                            int max_position) {
    std::vector<int> out;
    if (expr.empty())
        return tl::unexpected(std::string("empty position list"));
    for (auto item : split_top_level(expr)) {
        auto dash = item.find('-');
        unsigned long lo = 0, hi = 0;
        if (dash == std::string_view::npos) {
            if (!parse_uint(item, lo))
                return tl::unexpected(fmt::format("'{}' is not a position", std::string(item)));
            hi = lo;
        } else if (!parse_uint(item.substr(0, dash), lo) ||
                   !parse_uint(item.substr(dash + 1), hi)) {
            return tl::unexpected(
                fmt::format("'{}' is not a position range like 1-60", std::string(item)));
        }
        if (lo == 0 || hi == 0)
            return tl::unexpected(fmt::format("positions start at 1 ('{}')", std::string(item)));
        if (hi < lo)
            return tl::unexpected(fmt::format("range '{}' runs backwards", std::string(item)));
        if (hi > static_cast<unsigned long>(max_position))
            return tl::unexpected(
                fmt::format("position {} is past the last position {}", hi, max_position));
        if (out.size() + (hi - lo + 1) > max_range_expansion)
            return tl::unexpected(std::string("position list is too large"));
        for (unsigned long p = lo; p <= hi; ++p)
            out.push_back(static_cast<int>(p));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<std::string_view> split_top_level(std::string_view expr) {
    std::vector<std::string_view> parts;
    int depth = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i < expr.size(); ++i) {
        if (expr[i] == '[')
            ++depth;
        else if (expr[i] == ']' && depth > 0)
            --depth;
        else if (expr[i] == ',' && depth == 0) {
            parts.push_back(expr.substr(start, i - start));
            start = i + 1;
        }
    }
    parts.push_back(expr.substr(start));
    return parts;
}

} // namespace netbootd
