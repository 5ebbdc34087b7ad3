// Byte-buffer helpers shared by the emulator's builders and parsers (network byte order).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace netbootd::emu {

using bytes = std::vector<std::uint8_t>;
using byte_view = std::span<const std::uint8_t>;

inline void put_u8(bytes& out, std::uint8_t v) {
    out.push_back(v);
}
inline void put_u16(bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}
inline void put_u32(bytes& out, std::uint32_t v) {
    put_u16(out, static_cast<std::uint16_t>(v >> 16));
    put_u16(out, static_cast<std::uint16_t>(v));
}
inline void put_text(bytes& out, std::string_view s) {
    out.insert(out.end(), s.begin(), s.end());
}
inline void put_zeros(bytes& out, std::size_t n) {
    out.insert(out.end(), n, 0);
}

inline std::uint16_t get_u16(byte_view in, std::size_t at) {
    return static_cast<std::uint16_t>((in[at] << 8) | in[at + 1]);
}
inline std::uint32_t get_u32(byte_view in, std::size_t at) {
    return (std::uint32_t{in[at]} << 24) | (std::uint32_t{in[at + 1]} << 16) |
           (std::uint32_t{in[at + 2]} << 8) | in[at + 3];
}

} // namespace netbootd::emu
