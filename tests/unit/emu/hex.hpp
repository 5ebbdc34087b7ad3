// Test helper: "35 01 01" → bytes; quoted "text" is inserted as ASCII.
#pragma once

#include "netbootd/emu/bytes.hpp"

#include <string_view>

namespace netbootd::emu::test {

inline bytes hex(std::string_view s) {
    bytes out;
    for (std::size_t i = 0; i < s.size();) {
        const char c = s[i];
        if (c == ' ' || c == '\n') {
            ++i;
        } else if (c == '"') {
            const std::size_t end = s.find('"', i + 1);
            put_text(out, s.substr(i + 1, end - i - 1));
            i = end + 1;
        } else {
            auto nib = [](char h) {
                return static_cast<std::uint8_t>(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
            };
            out.push_back(static_cast<std::uint8_t>(nib(s[i]) * 16 + nib(s[i + 1])));
            i += 2;
        }
    }
    return out;
}

inline bytes repeat(std::string_view h, int n) {
    bytes out;
    for (int i = 0; i < n; ++i) {
        const bytes b = hex(h);
        out.insert(out.end(), b.begin(), b.end());
    }
    return out;
}

inline bytes cat(std::initializer_list<bytes> parts) {
    bytes out;
    for (const auto& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

} // namespace netbootd::emu::test
