#include "hex.hpp"
#include "netbootd/emu/dhcp_reply.hpp"

#include <gtest/gtest.h>

namespace netbootd::emu {
namespace {

using test::cat;
using test::hex;

const mac_address mac{{0xb8, 0x27, 0xeb, 0x85, 0xc0, 0xf2}};

// R4 exactly as spec §2.2 prints it (value of option 43, without the 2b 20 header).
const bytes r4 = hex("06 01 03 0a 04 00 50 58 45 09 14 00 00 11 \"Raspberry Pi Boot\" ff");
const bytes r5 = hex("06 01 03 0a 04 00 50 58 45 09 17 00 00 14 \"Raspberry Pi Boot   \" ff");

// A dnsmasq-like OFFER: header + the given options (already TLV-encoded), END, then pad to 300.
bytes offer(const bytes& options, std::uint8_t hops = 0, std::uint32_t xid = 0x26f30339,
            bool end = true, std::size_t pad_to = 300) {
    bytes b = hex("02 01 06");
    b.push_back(hops);
    put_u32(b, xid);
    put_zeros(b, 4);        // secs, flags
    put_zeros(b, 4);        // ciaddr
    put_u32(b, 0x0a2a0091); // yiaddr 10.42.0.145
    put_u32(b, 0x0a2a0001); // siaddr
    put_zeros(b, 4);
    b.insert(b.end(), mac.bytes.begin(), mac.bytes.end());
    put_zeros(b, 10 + 192);
    put_u32(b, 0x63825363);
    b.insert(b.end(), options.begin(), options.end());
    if (end)
        b.push_back(0xff);
    if (b.size() < pad_to)
        b.resize(pad_to, 0);
    return b;
}

bytes pxe_options(const bytes& o43) {
    bytes b = hex("35 01 02 36 04 0a 2a 00 01 01 04 ff ff ff 00 3c 09 \"PXEClient\"");
    b.push_back(43);
    b.push_back(static_cast<std::uint8_t>(o43.size()));
    b.insert(b.end(), o43.begin(), o43.end());
    return b;
}

TEST(reply, spec_r4_r5_literals) {
    EXPECT_EQ(expected_opt43_r4(), r4);
    EXPECT_EQ(r4.size(), 32u);
    EXPECT_EQ(expected_opt43_r5(), r5);
    EXPECT_EQ(r5.size(), 35u);
}

TEST(reply, parses_a_dnsmasq_offer) {
    const bytes packet = offer(pxe_options(r4));
    auto r = parse_reply(packet);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->op, 2);
    EXPECT_EQ(r->xid, 0x26f30339u);
    EXPECT_EQ(r->yiaddr.to_string(), "10.42.0.145");
    EXPECT_EQ(r->siaddr.to_string(), "10.42.0.1");
    EXPECT_EQ(r->message_type(), 2);
    EXPECT_EQ(r->ip_option(54)->to_string(), "10.42.0.1");
    EXPECT_EQ(r->find(43)->data, r4);
    EXPECT_TRUE(r->has_end);
    EXPECT_FALSE(r->pad_between_options) << "zero padding after END is fine";
    EXPECT_EQ(r->length, packet.size());
}

TEST(reply, malformed_is_an_error_not_a_crash) {
    EXPECT_FALSE(parse_reply(hex("02 01 06 00")));
    bytes b = offer(hex("35 01 02"));
    b[236] = 0; // cookie
    EXPECT_FALSE(parse_reply(b));
    EXPECT_FALSE(parse_reply(offer(hex("35 01 02 2b 40 00"), 0, 0x26f30339, false, 0)))
        << "option 43 claims 64 bytes";
    EXPECT_FALSE(parse_reply(offer(hex("35"), 0, 0x26f30339, false, 0))) << "no length byte";
}

TEST(reply, pad_between_options_is_detected) {
    auto r = parse_reply(offer(hex("35 01 02 00 00 36 04 0a 2a 00 01")));
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->pad_between_options);
    r = parse_reply(offer(hex("35 01 02 00"))); // PAD right before END
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->pad_between_options);
}

struct accept_row {
    const char* what;
    bytes packet;
    accept_rules rules;
    bool accepted;
};

TEST(reply, acceptance_rules) {
    const accept_rules base{0x26f30339, mac, true, false};
    accept_rules other_mac = base;
    other_mac.mac.bytes[5] ^= 1;
    accept_rules other_xid = base;
    other_xid.xid = 1;
    accept_rules rom = base;
    rom.reject_hops = true;
    accept_rules legacy = base;
    legacy.allow_pad = false;
    bytes request = offer(hex("35 01 02"));
    request[0] = 1;
    const std::vector<accept_row> rows = {
        {"a plain OFFER", offer(hex("35 01 02")), base, true},
        {"BOOTREQUEST", request, base, false},
        {"other chaddr", offer(hex("35 01 02")), other_mac, false},
        {"other xid", offer(hex("35 01 02")), other_xid, false},
        {"no option 53", offer(hex("36 04 0a 2a 00 01")), base, false},
        {"hops 1, not the 3B ROM", offer(hex("35 01 02"), 1), base, true},
        {"hops 1, 3B ROM (Q8)", offer(hex("35 01 02"), 1), rom, false},
        {"PAD between options, Pi 4 current", offer(hex("35 01 02 00 36 04 0a 2a 00 01")), base,
         true},
        {"PAD between options, legacy strict (Q16)", offer(hex("35 01 02 00 36 04 0a 2a 00 01")),
         legacy, false},
    };
    for (const auto& row : rows) {
        auto r = parse_reply(row.packet);
        ASSERT_TRUE(r) << row.what;
        EXPECT_EQ(!reject_reason(*r, row.rules).has_value(), row.accepted) << row.what;
    }
}

TEST(reply, menu_rule_eeprom_and_bootcode) {
    EXPECT_TRUE(menu_matches(r4));
    EXPECT_TRUE(menu_matches(r5)) << "trailing characters are ignored";
    EXPECT_TRUE(menu_matches(hex("06 01 03 09 18 00 00 15 \"~~Raspberry Pi Boot~~\" ff")))
        << "substring match (rpi-eeprom #376)";
    EXPECT_TRUE(menu_matches(hex("06 01 03 09 1c 80 00 05 \"Other\" 00 00 11 \"Raspberry Pi Boot\" "
                                 "ff")))
        << "second menu entry";
    EXPECT_FALSE(menu_matches(hex("06 01 03 09 14 00 00 11 \"Raspberry Pi Boo!\" ff")));
    EXPECT_FALSE(menu_matches(hex("06 01 03 0a 04 00 50 58 45 ff"))) << "no sub-option 9";
    EXPECT_FALSE(menu_matches(hex("06 01 03 09 14 00 00 11 \"Raspberry Pi Boot\"")))
        << "no END inside option 43";
    EXPECT_FALSE(menu_matches(hex("09 30 00 00 11 \"Raspberry Pi Boot\" ff"))) << "overrun";
    EXPECT_FALSE(menu_matches(hex("\"Raspberry Pi Boot   \""))) << "raw string is no TLV";
}

TEST(reply, menu_rule_3b_rom_offset_q1) {
    EXPECT_FALSE(menu_matches_3b_rom(r4)) << "dnsmasq's plain 32-byte option: string at 14 > 12";
    EXPECT_TRUE(menu_matches_3b_rom(r5)) << "35 bytes: string at 14 <= 15";
    EXPECT_TRUE(menu_matches_3b_rom(hex("\"Raspberry Pi Boot   \""))) << "raw 20 bytes, offset 0";
    EXPECT_FALSE(menu_matches_3b_rom(hex("\"Raspberry Pi Boot\""))) << "raw 17 bytes";
    // 34 bytes with a 19-char string (firmware #941): string at 14, last offset 14.
    EXPECT_TRUE(menu_matches_3b_rom(
        hex("06 01 03 0a 04 00 50 58 45 09 16 00 00 13 \"Raspberry Pi Boot  \" ff")));
}

TEST(reply, is_pxe_needs_opt60_and_menu) {
    auto full = parse_reply(offer(pxe_options(r4)));
    ASSERT_TRUE(full);
    EXPECT_TRUE(is_pxe(*full, pxe_rule::menu, true));
    EXPECT_FALSE(is_pxe(*full, pxe_rule::rom_3b, true));
    auto padded = parse_reply(offer(pxe_options(r5)));
    ASSERT_TRUE(padded);
    EXPECT_TRUE(is_pxe(*padded, pxe_rule::rom_3b, true));

    bytes no60 = hex("35 01 02 2b 20");
    no60.insert(no60.end(), r4.begin(), r4.end());
    auto n = parse_reply(offer(no60));
    ASSERT_TRUE(n);
    EXPECT_FALSE(is_pxe(*n, pxe_rule::menu, true));
    EXPECT_TRUE(is_pxe(*n, pxe_rule::menu, false)) << "Pi 3 non-strict does not insist on 60";

    auto nul60 = parse_reply(offer(cat({hex("35 01 02 3c 0a \"PXEClient\" 00 2b 20"), r4})));
    ASSERT_TRUE(nul60);
    EXPECT_FALSE(opt60_is_pxeclient(*nul60)) << "exactly 9 bytes, no NUL";

    auto no43 = parse_reply(offer(hex("35 01 02 3c 09 \"PXEClient\"")));
    ASSERT_TRUE(no43);
    EXPECT_FALSE(is_pxe(*no43, pxe_rule::menu, true));
}

} // namespace
} // namespace netbootd::emu
