#include "netbootd/core/net_types.hpp"

#include <charconv>
#include <fmt/format.h>

namespace netbootd {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

} // namespace

std::optional<mac_address> mac_address::parse(std::string_view text) {
    mac_address m;
    if (text.size() == 12) {
        for (std::size_t i = 0; i < 6; ++i) {
            int hi = hex_value(text[2 * i]);
            int lo = hex_value(text[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return std::nullopt;
            m.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
        }
        return m;
    }
    if (text.size() != 17)
        return std::nullopt;
    const char sep = text[2];
    if (sep != ':' && sep != '-')
        return std::nullopt;
    for (std::size_t i = 0; i < 6; ++i) {
        const std::size_t at = i * 3;
        if (i > 0 && text[at - 1] != sep)
            return std::nullopt;
        int hi = hex_value(text[at]);
        int lo = hex_value(text[at + 1]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        m.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    return m;
}

std::string mac_address::to_string() const {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2],
                       bytes[3], bytes[4], bytes[5]);
}

std::string mac_address::to_dashed() const {
    return fmt::format("{:02x}-{:02x}-{:02x}-{:02x}-{:02x}-{:02x}", bytes[0], bytes[1], bytes[2],
                       bytes[3], bytes[4], bytes[5]);
}

std::uint64_t mac_address::as_u64() const {
    std::uint64_t v = 0;
    for (auto b : bytes)
        v = (v << 8) | b;
    return v;
}

std::optional<ipv4_address> ipv4_address::parse(std::string_view text) {
    std::uint32_t value = 0;
    const char* p = text.data();
    const char* end = text.data() + text.size();
    for (int octet = 0; octet < 4; ++octet) {
        if (octet > 0) {
            if (p == end || *p != '.')
                return std::nullopt;
            ++p;
        }
        if (p == end || *p < '0' || *p > '9')
            return std::nullopt;
        // Reject leading zeros ("010") which some tools read as octal.
        if (*p == '0' && p + 1 != end && p[1] >= '0' && p[1] <= '9')
            return std::nullopt;
        unsigned part = 0;
        auto [next, ec] = std::from_chars(p, end, part);
        if (ec != std::errc{} || part > 255 || next - p > 3)
            return std::nullopt;
        p = next;
        value = (value << 8) | part;
    }
    if (p != end)
        return std::nullopt;
    return ipv4_address{value};
}

std::string ipv4_address::to_string() const {
    return fmt::format("{}.{}.{}.{}", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff,
                       value & 0xff);
}

std::optional<ipv4_subnet> ipv4_subnet::parse(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos)
        return std::nullopt;
    auto addr = ipv4_address::parse(text.substr(0, slash));
    if (!addr)
        return std::nullopt;
    auto len_text = text.substr(slash + 1);
    int len = -1;
    auto [next, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (ec != std::errc{} || next != len_text.data() + len_text.size() || len < 0 || len > 32)
        return std::nullopt;
    ipv4_subnet s{*addr, len};
    if ((addr->value & ~s.mask()) != 0)
        return std::nullopt;
    return s;
}

std::string ipv4_subnet::to_string() const {
    return fmt::format("{}/{}", network.to_string(), prefix_len);
}

std::optional<std::uint32_t> parse_serial(std::string_view text) {
    if (text.size() != 8)
        return std::nullopt;
    std::uint32_t v = 0;
    for (char c : text) {
        int h = hex_value(c);
        if (h < 0)
            return std::nullopt;
        v = (v << 4) | static_cast<std::uint32_t>(h);
    }
    return v;
}

std::string format_serial(std::uint32_t serial) {
    return fmt::format("{:08x}", serial);
}

} // namespace netbootd
