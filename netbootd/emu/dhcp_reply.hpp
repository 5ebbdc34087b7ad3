// The emulator's own small parser for DHCP replies, and the Pi firmware's acceptance rules
// (spec §1.4, §5.1). Pure: no I/O, no clock.
#pragma once

#include "netbootd/core/net_types.hpp"
#include "netbootd/emu/bytes.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace netbootd::emu {

struct dhcp_option {
    std::uint8_t code = 0;
    bytes data;
};

struct dhcp_reply {
    std::uint8_t op = 0;
    std::uint8_t htype = 0;
    std::uint8_t hlen = 0;
    std::uint8_t hops = 0;
    std::uint32_t xid = 0;
    std::uint16_t flags = 0;
    ipv4_address ciaddr;
    ipv4_address yiaddr;
    ipv4_address siaddr;
    ipv4_address giaddr;
    std::array<std::uint8_t, 16> chaddr{};
    /// Options in wire order, PAD and END excluded.
    std::vector<dhcp_option> options;
    /// An option 0 (PAD) appeared before END (breaks pre-2020-01-17 Pi 4 bootloaders, Q16).
    bool pad_between_options = false;
    bool has_end = false;
    std::size_t length = 0; ///< the whole BOOTP payload, padding after END included

    /// The first option with that code, or nullptr.
    const dhcp_option* find(std::uint8_t code) const;
    std::optional<std::uint8_t> message_type() const;
    std::optional<ipv4_address> ip_option(std::uint8_t code) const;
};

/// Parses a BOOTP payload as TLVs. Fails on a short header, a missing cookie or an option that
/// runs past the end. Options after END are ignored.
tl::expected<dhcp_reply, std::string> parse_reply(byte_view payload);

/// What a Pi stage checks before it looks at a reply (spec §5.1).
struct accept_rules {
    std::uint32_t xid = 0;
    mac_address mac;
    bool allow_pad = true;    ///< false: strict legacy Pi 4 (Q16)
    bool reject_hops = false; ///< 3B ROM: replies through a relay fail (Q8)
};
/// nullopt when the reply is accepted, otherwise why it is dropped.
std::optional<std::string> reject_reason(const dhcp_reply& r, const accept_rules& rules);

/// The menu text the bootloaders look for (PXE_OPTION43 default).
inline constexpr std::string_view pi_menu_text = "Raspberry Pi Boot";

/// Option 60 is exactly "PXEClient" (9 bytes, no NUL).
bool opt60_is_pxeclient(const dhcp_reply& r);
/// The EEPROM/bootcode rule: option 43 parses as sub-option TLVs ending in ff, with a sub-option
/// 9 (boot menu) whose item description (bytes 3..3+len of an item) contains `text`.
bool menu_matches(byte_view opt43, std::string_view text = pi_menu_text);
/// The 3B ROM rule (Q1, inferred): the 17-byte string is searched at offsets 0..len(opt43)-20
/// only, so a plain 32-byte option with the string at offset 14 fails.
bool menu_matches_3b_rom(byte_view opt43, std::string_view text = pi_menu_text);

enum class pxe_rule { menu, rom_3b };
/// is_pxe (spec §5.1): opt 60 PXEClient (when required), opt 43 present and matching the rule.
bool is_pxe(const dhcp_reply& r, pxe_rule rule, bool require_opt60);

/// R4: dnsmasq's option 43 for `pxe-service=0,"Raspberry Pi Boot"` (32 bytes, value only).
const bytes& expected_opt43_r4();
/// R5: the 3B ROM variant with three trailing spaces (35 bytes, value only).
const bytes& expected_opt43_r5();

/// Hex dump "06 01 03 ..." for reports.
std::string to_hex(byte_view b);

} // namespace netbootd::emu
