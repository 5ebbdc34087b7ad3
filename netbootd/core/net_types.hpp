// Value types for link and network addresses: parsed once at the edge, compared and hashed cheaply.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace netbootd {

/// An Ethernet hardware address.
struct mac_address {
    std::array<std::uint8_t, 6> bytes{};

    auto operator<=>(const mac_address&) const = default;

    /// Parses "b8:27:eb:fc:6a:59", "b8-27-eb-fc-6a-59" or "b827ebfc6a59" (any case).
    /// Returns nullopt for anything else.
    static std::optional<mac_address> parse(std::string_view text);

    /// "b8:27:eb:fc:6a:59"
    std::string to_string() const;
    /// "b8-27-eb-fc-6a-59": the Pi's TFTP prefix directory and dnsmasq's tftp-unique-root form.
    std::string to_dashed() const;
    /// The first three bytes as one number (0xb827eb), for OUI tables.
    std::uint32_t oui() const {
        return (std::uint32_t{bytes[0]} << 16) | (std::uint32_t{bytes[1]} << 8) | bytes[2];
    }
    std::uint64_t as_u64() const;
};

/// An IPv4 address in host byte order.
struct ipv4_address {
    std::uint32_t value = 0;

    auto operator<=>(const ipv4_address&) const = default;

    /// Parses a dotted quad "10.42.0.1" (no leading zeros beyond "0", no trailing text).
    static std::optional<ipv4_address> parse(std::string_view text);
    std::string to_string() const;
    bool is_unspecified() const { return value == 0; }
};

/// An IPv4 subnet "10.42.0.0/24".
struct ipv4_subnet {
    ipv4_address network;
    int prefix_len = 0;

    /// Parses "A.B.C.D/N"; host bits set in the address are an error.
    static std::optional<ipv4_subnet> parse(std::string_view text);
    std::uint32_t mask() const {
        return prefix_len == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_len);
    }
    bool contains(ipv4_address a) const { return (a.value & mask()) == network.value; }
    ipv4_address broadcast() const { return ipv4_address{network.value | ~mask()}; }
    std::string to_string() const;
};

/// Parses exactly 8 hex digits (the Pi's serial as used in its TFTP prefix); stored as the number.
std::optional<std::uint32_t> parse_serial(std::string_view text);
/// Formats a serial as the Pi asks for its prefix directory: 8 lowercase hex digits.
std::string format_serial(std::uint32_t serial);

} // namespace netbootd

template <> struct std::hash<netbootd::mac_address> {
    std::size_t operator()(const netbootd::mac_address& m) const noexcept {
        return std::hash<std::uint64_t>{}(m.as_u64());
    }
};
template <> struct std::hash<netbootd::ipv4_address> {
    std::size_t operator()(const netbootd::ipv4_address& a) const noexcept {
        return std::hash<std::uint32_t>{}(a.value);
    }
};
