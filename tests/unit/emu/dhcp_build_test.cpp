#include "hex.hpp"
#include "netbootd/emu/dhcp_build.hpp"

#include <gtest/gtest.h>

namespace netbootd::emu {
namespace {

using test::cat;
using test::hex;
using test::repeat;

const mac_address pi3_mac{{0xb8, 0x27, 0xeb, 0x85, 0xc0, 0xf2}};
const mac_address pi4_mac{{0xdc, 0xa6, 0x32, 0x01, 0x36, 0xc2}};

// The 240-byte fixed part every Pi DISCOVER shares (spec §1.1): op 1, htype 1, hlen 6, hops 0,
// xid, secs 0, flags 0 (no broadcast bit), all addresses 0, chaddr = MAC + 10 zeros, sname/file 0.
bytes fixed(const mac_address& mac, std::uint32_t xid) {
    bytes b = hex("01 01 06 00");
    put_u32(b, xid);
    put_zeros(b, 4 + 16);
    b.insert(b.end(), mac.bytes.begin(), mac.bytes.end());
    put_zeros(b, 10 + 192);
    put_u32(b, 0x63825363);
    return b;
}

const bytes vendor = hex("3c 20 \"PXEClient:Arch:00000:UNDI:002001\" ff");

TEST(discover, pi3b_rom_matches_spec_bytes) {
    discover_params p{pi3_mac, pi3_xid, prl_kind::rom12,
                      option97_guid(opt97_style::const44, pi3_mac, 0x7285c0f2, 0)};
    const bytes got = build_discover(p);
    const bytes want = cat({fixed(pi3_mac, 0x26f30339),
                            hex("35 01 01 37 0c 2b 3c 43 80 81 82 83 84 85 86 87 42 5d 02 00 00 "
                                "5e 03 01 02 01 61 11 00"),
                            repeat("44", 16), vendor});
    EXPECT_EQ(got, want);
    EXPECT_EQ(got.size(), 320u);
}

TEST(discover, bootcode_matches_spec_bytes_for_serial_a2ef5644) {
    discover_params p{pi3_mac, pi3_xid, prl_kind::bootcode14,
                      option97_guid(opt97_style::serial4, pi3_mac, 0xa2ef5644, 0)};
    const bytes got = build_discover(p);
    const bytes want = cat({fixed(pi3_mac, 0x26f30339),
                            hex("35 01 01 37 0e 2b 3c 43 80 81 82 83 84 85 86 87 42 01 03 5d 02 00 "
                                "00 5e 03 01 02 01 61 11 00"),
                            repeat("44 56 ef a2", 4), vendor});
    EXPECT_EQ(got, want);
    EXPECT_EQ(got.size(), 322u);
}

TEST(discover, pi4_matches_spec_bytes) {
    const auto guid = option97_guid(opt97_style::rpi4_be, pi4_mac, 0x6aee7243, 0xc03111);
    discover_params p{pi4_mac, 0xd383a6ac, prl_kind::eeprom14, guid};
    const bytes got = build_discover(p);
    const bytes want = cat({fixed(pi4_mac, 0xd383a6ac),
                            hex("35 01 01 37 0e 01 03 2b 3c 42 43 80 81 82 83 84 85 86 87 5d 02 00 "
                                "00 5e 03 01 02 01 61 11 00"),
                            bytes(guid.begin(), guid.end()), vendor});
    EXPECT_EQ(got, want);
    EXPECT_EQ(got.size(), 322u);
}

TEST(discover, default_prl_per_model) {
    EXPECT_EQ(default_prl(model::pi3b_rom), prl_kind::rom12);
    EXPECT_EQ(default_prl(model::pi3bplus_rom), prl_kind::bootcode14);
    EXPECT_EQ(default_prl(model::pi3_bootcode), prl_kind::bootcode14);
    EXPECT_EQ(default_prl(model::pi4), prl_kind::eeprom14);
    EXPECT_EQ(default_prl(model::pi5), prl_kind::eeprom14);
}

struct guid_row {
    const char* what;
    opt97_style style;
    mac_address mac;
    std::uint32_t serial;
    std::uint32_t boardrev;
    const char* want;
};

class option97 : public ::testing::TestWithParam<guid_row> {};

TEST_P(option97, bytes) {
    const auto& r = GetParam();
    const auto g = option97_guid(r.style, r.mac, r.serial, r.boardrev);
    EXPECT_EQ(bytes(g.begin(), g.end()), hex(r.want)) << r.what;
}

const mac_address e45f{{0xe4, 0x5f, 0x01, 0x94, 0x24, 0xf8}};
const mac_address pi5_mac{{0x2c, 0xcf, 0x67, 0x11, 0x22, 0x33}};

INSTANTIATE_TEST_SUITE_P(
    styles, option97,
    ::testing::Values(guid_row{"3B ROM constant", opt97_style::const44, pi3_mac, 0x7285c0f2, 0,
                               "44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44"},
                      guid_row{"serial b66c4c16 LE x4", opt97_style::serial4, pi3_mac, 0xb66c4c16,
                               0, "16 4c 6c b6 16 4c 6c b6 16 4c 6c b6 16 4c 6c b6"},
                      guid_row{"legacy Pi 4 serial 6aee7243", opt97_style::serial4, pi4_mac,
                               0x6aee7243, 0, "43 72 ee 6a 43 72 ee 6a 43 72 ee 6a 43 72 ee 6a"},
                      guid_row{"RPi4 LE FourCC", opt97_style::rpi4_le, e45f, 0x6aee7243, 0xc03140,
                               "52 50 69 34 40 31 c0 00 01 94 24 f8 43 72 ee 6a"},
                      guid_row{"4iPR BE FourCC", opt97_style::rpi4_be, e45f, 0x6aee7243, 0xa03141,
                               "34 69 50 52 41 31 a0 00 01 94 24 f8 43 72 ee 6a"},
                      guid_row{"Pi 5", opt97_style::rpi5, pi5_mac, 0xda591740, 0xd04170,
                               "35 69 50 52 70 41 d0 00 67 11 22 33 40 17 59 da"}));

TEST(request, eeprom_request_carries_server_requested_and_pxe_identity) {
    const auto guid = option97_guid(opt97_style::rpi5, pi5_mac, 1, 2);
    discover_params p{pi5_mac, 0x01020304, prl_kind::eeprom14, guid};
    const bytes got = build_eeprom_request(p, *ipv4_address::parse("10.42.0.7"),
                                           *ipv4_address::parse("10.42.0.1"));
    const bytes want =
        cat({fixed(pi5_mac, 0x01020304),
             hex("35 01 03 36 04 0a 2a 00 01 32 04 0a 2a 00 07 37 0e 01 03 2b 3c 42 43 80 81 82 83 "
                 "84 85 86 87 5d 02 00 00 5e 03 01 02 01 61 11 00"),
             bytes(guid.begin(), guid.end()), vendor});
    EXPECT_EQ(got, want);
}

TEST(kernel, discover_is_linux_ipconfig_shaped) {
    const bytes got = build_kernel_discover(pi4_mac, 0x11223344);
    ASSERT_EQ(got.size(), 548u); // 236 + the kernel's 312-byte vendor area
    EXPECT_EQ(bytes(got.begin(), got.begin() + 240), fixed(pi4_mac, 0x11223344));
    const bytes opts = hex("35 01 01 37 08 01 03 06 0c 0f 11 1a 28 ff");
    EXPECT_EQ(bytes(got.begin() + 240, got.begin() + 240 + static_cast<long>(opts.size())), opts);
    for (std::size_t i = 240 + opts.size(); i < got.size(); ++i)
        ASSERT_EQ(got[i], 0) << i;
}

TEST(kernel, request_has_54_and_50) {
    const bytes got = build_kernel_request(pi4_mac, 7, *ipv4_address::parse("10.42.0.9"),
                                           *ipv4_address::parse("10.42.0.1"));
    const bytes opts =
        hex("35 01 03 36 04 0a 2a 00 01 32 04 0a 2a 00 09 37 08 01 03 06 0c 0f 11 1a "
            "28 ff");
    EXPECT_EQ(bytes(got.begin() + 240, got.begin() + 240 + static_cast<long>(opts.size())), opts);
}

TEST(model, names_round_trip) {
    for (auto m : {model::pi3b_rom, model::pi3bplus_rom, model::pi3_bootcode, model::pi4,
                   model::pi5, model::kernel_dhcp})
        EXPECT_EQ(parse_model(to_string(m)), m);
    EXPECT_FALSE(parse_model("pi6"));
    for (auto s : {opt97_style::const44, opt97_style::serial4, opt97_style::rpi4_le,
                   opt97_style::rpi4_be, opt97_style::rpi5})
        EXPECT_EQ(parse_opt97_style(to_string(s)), s);
    EXPECT_EQ(default_opt97_style(model::pi3b_rom), opt97_style::const44);
    EXPECT_EQ(default_opt97_style(model::pi3bplus_rom), opt97_style::serial4);
    EXPECT_EQ(default_opt97_style(model::pi5), opt97_style::rpi5);
}

} // namespace
} // namespace netbootd::emu
