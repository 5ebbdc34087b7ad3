// BOOTP/DHCP message codec (RFC 951, 2131, 2132, 3396). Pure: bytes in, struct out and back; no
// I/O, no clock, never throws, never logs. Any input either decodes or returns a decode_error.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "netbootd/core/net_types.hpp"

namespace netbootd::dhcp {

enum class message_type : std::uint8_t {
    discover = 1,
    offer = 2,
    request = 3,
    decline = 4,
    ack = 5,
    nak = 6,
    release = 7,
    inform = 8,
};
std::string_view to_string(message_type t);

enum class decode_error {
    truncated_header, ///< fewer than 236 bytes + magic cookie
    too_large,        ///< more than max_packet_size bytes
    bad_cookie,       ///< the four bytes after the header are not 63 82 53 63
    bad_hlen,         ///< hlen > 16 (chaddr cannot hold it)
    option_overrun,   ///< an option's length runs past the end of its field
    bad_overload,     ///< option 52 with a value other than 1, 2 or 3
};
std::string_view to_string(decode_error e);

/// The largest datagram we accept; larger input is rejected before parsing.
inline constexpr std::size_t max_packet_size = 16384;
/// Replies are padded after END to at least this many bytes (RFC 1542; the Linux kernel client).
inline constexpr std::size_t min_reply_size = 300;
inline constexpr std::size_t fixed_header_size = 236;

/// One option; several occurrences of a code are concatenated on decode (RFC 3396) and values
/// longer than 255 bytes are split on encode.
struct option {
    std::uint8_t code = 0;
    std::vector<std::uint8_t> data;
    bool operator==(const option&) const = default;
};

struct packet {
    std::uint8_t op = 1;
    std::uint8_t htype = 1;
    std::uint8_t hlen = 6;
    std::uint8_t hops = 0;
    std::uint32_t xid = 0;
    std::uint16_t secs = 0;
    std::uint16_t flags = 0;
    ipv4_address ciaddr;
    ipv4_address yiaddr;
    ipv4_address siaddr;
    ipv4_address giaddr;
    std::array<std::uint8_t, 16> chaddr{};
    std::array<std::uint8_t, 64> sname{};
    std::array<std::uint8_t, 128> file{};
    /// In wire order (first occurrence of each code), overloaded sname/file options appended.
    std::vector<option> options;

    bool operator==(const packet&) const = default;

    static constexpr std::uint16_t broadcast_flag = 0x8000;

    const option* find(std::uint8_t code) const;
    bool has(std::uint8_t code) const { return find(code) != nullptr; }
    /// Appends or replaces an option's value.
    void set(std::uint8_t code, std::vector<std::uint8_t> data);
    void set_ip(std::uint8_t code, ipv4_address a);
    void set_u32(std::uint8_t code, std::uint32_t v);
    void set_text(std::uint8_t code, std::string_view s);

    std::optional<message_type> type() const;
    /// The first six bytes of chaddr (meaningful when htype 1 / hlen 6).
    mac_address mac() const;
    std::optional<ipv4_address> ip_option(std::uint8_t code) const;
    std::string text_option(std::uint8_t code) const;
};

/// Decodes one BOOTP/DHCP message. Options in sname/file are decoded when option 52 says so;
/// option 52 inside an overloaded field is ignored (no recursion).
tl::expected<packet, decode_error> decode(std::span<const std::uint8_t> bytes);

/// Appends the encoded message: fixed header, cookie, options in `p.options` order with no
/// padding between them, END, then zero padding up to min_reply_size.
void encode_to(std::vector<std::uint8_t>& out, const packet& p);

} // namespace netbootd::dhcp
