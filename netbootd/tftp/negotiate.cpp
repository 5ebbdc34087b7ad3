#include "netbootd/tftp/negotiate.hpp"

#include <algorithm>
#include <charconv>
#include <string>

namespace netbootd::tftp {

namespace {

/// A decimal number with no sign, spaces or trailing text, or nullopt.
std::optional<std::uint64_t> parse_number(const std::string& s) {
    if (s.empty() || s.size() > 19)
        return std::nullopt;
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size())
        return std::nullopt;
    return v;
}

} // namespace

negotiated negotiate(const std::vector<option>& requested, std::uint64_t file_size,
                     const negotiation_limits& limits) {
    negotiated n;
    const auto max_blk = static_cast<std::uint64_t>(std::clamp(limits.max_blksize, 8, 65464));
    const auto max_win = static_cast<std::uint64_t>(std::clamp(limits.max_windowsize, 1, 65535));
    for (const auto& o : requested) {
        const auto v = parse_number(o.value);
        if (iequals(o.name, "blksize")) {
            if (!v || *v < 8)
                continue;
            n.blksize = static_cast<std::uint16_t>(std::min(*v, max_blk));
            n.oack.push_back(option{o.name, std::to_string(n.blksize)});
        } else if (iequals(o.name, "tsize")) {
            // A read request carries tsize 0; the reply is the exact size (RFC 2349).
            if (!v)
                continue;
            n.oack.push_back(option{o.name, std::to_string(file_size)});
        } else if (iequals(o.name, "timeout")) {
            if (!v || *v < 1 || *v > 255)
                continue;
            n.timeout_s = static_cast<int>(*v);
            n.oack.push_back(option{o.name, o.value});
        } else if (iequals(o.name, "windowsize")) {
            if (!v || *v < 1 || *v > 65535)
                continue;
            n.windowsize = static_cast<std::uint16_t>(std::min(*v, max_win));
            n.oack.push_back(option{o.name, std::to_string(n.windowsize)});
        }
    }
    return n;
}

} // namespace netbootd::tftp
