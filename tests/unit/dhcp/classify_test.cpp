#include "netbootd/dhcp/classify.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "netbootd/dhcp/pxe.hpp"
#include "spec_packets.hpp"

namespace netbootd::dhcp {
namespace {

using spec::bytes;

const bytes pi3_mac = {0xb8, 0x27, 0xeb, 0xfc, 0x6a, 0x59};
const bytes pi4_mac = {0xdc, 0xa6, 0x32, 0x01, 0x36, 0xc2};
const bytes pi4_mac2 = {0xe4, 0x5f, 0x01, 0x94, 0x24, 0xf8};
const bytes pi5_mac = {0x2c, 0xcf, 0x67, 0x00, 0x00, 0x04};
const bytes new_mac = {0xd8, 0x3a, 0xdd, 0x12, 0x34, 0x56};
const bytes x86_mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct row {
    const char* name;
    bytes raw;
    node_model model;
    bool known;
    client_class want;
};

packet dec(const bytes& b) {
    auto p = decode(b);
    EXPECT_TRUE(p);
    return p ? *p : packet{};
}

TEST(classify, spec_templates_per_generation) {
    const std::vector<row> rows = {
        {"3B ROM (const 44 GUID)", spec::pi3b_rom_discover(pi3_mac), node_model::detect, false,
         client_class::pi3b_rom},
        {"3 bootcode.bin (serial x4)", spec::pi3_bootcode_discover(pi3_mac), node_model::detect,
         false, client_class::pi3_bootcode},
        {"Pi 4 legacy serial x4, Pi 4 OUI", spec::pi4_discover(pi4_mac, spec::serial4(0x6aee7243)),
         node_model::detect, false, client_class::pi4},
        {"Pi 4 RPi4 LE", spec::pi4_discover(pi4_mac2, spec::guid_rpi4_le()), node_model::detect,
         false, client_class::pi4},
        {"Pi 4 4iPR BE, new OUI", spec::pi4_discover(new_mac, spec::guid_rpi4_be()),
         node_model::detect, false, client_class::pi4},
        {"Pi 5 GUID on d8:3a:dd", spec::pi4_discover(new_mac, spec::guid_rpi5()),
         node_model::detect, false, client_class::pi5},
        {"Pi 5 OUI 2c:cf:67", spec::pi4_discover(pi5_mac, spec::serial4(1)), node_model::detect,
         false, client_class::pi5},
        {"x86 BIOS PXE, unknown", spec::pi4_discover(x86_mac, spec::serial4(1)), node_model::detect,
         false, client_class::other_pxe},
        {"x86-looking OUI but RPi4 GUID", spec::pi4_discover(x86_mac, spec::guid_rpi4_le()),
         node_model::detect, false, client_class::pi4},
        {"unknown OUI, configured node", spec::pi4_discover(x86_mac, spec::serial4(1)),
         node_model::detect, true, client_class::pi4},
        {"override other: not a Pi", spec::pi4_discover(pi4_mac, spec::guid_rpi4_le()),
         node_model::other, true, client_class::other_pxe},
        {"override pi3b, ROM GUID", spec::pi3b_rom_discover(x86_mac), node_model::pi3b, true,
         client_class::pi3b_rom},
        {"override pi3b, bootcode", spec::pi3_bootcode_discover(x86_mac), node_model::pi3b, true,
         client_class::pi3_bootcode},
        {"override pi3b+, ROM", spec::pi3_bootcode_discover(pi3_mac), node_model::pi3bplus, true,
         client_class::pi3_bootcode},
        {"override pi5 on Pi 4 OUI", spec::pi4_discover(pi4_mac, spec::serial4(1)), node_model::pi5,
         true, client_class::pi5},
        {"override pi4 on 3B OUI", spec::pi3b_rom_discover(pi3_mac), node_model::pi4, true,
         client_class::pi4},
        {"kernel ip=dhcp from Pi MAC", spec::kernel_discover(pi4_mac), node_model::detect, true,
         client_class::kernel},
        {"kernel, model override ignored", spec::kernel_discover(pi3_mac), node_model::pi3b, true,
         client_class::kernel},
        {"UEFI arch 11 from Pi MAC", spec::uefi_discover(pi4_mac), node_model::pi4, true,
         client_class::uefi},
    };
    for (const auto& r : rows)
        EXPECT_EQ(to_string(classify(dec(r.raw), r.model, r.known)), to_string(r.want)) << r.name;
}

TEST(classify, firmware_needs_arch0_and_option94) {
    auto p = dec(spec::pi4_discover(pi4_mac, spec::guid_rpi4_le()));
    auto no94 = p;
    no94.options.erase(std::remove_if(no94.options.begin(), no94.options.end(),
                                      [](const option& o) { return o.code == 94; }),
                       no94.options.end());
    EXPECT_EQ(classify(no94), client_class::other_pxe);
    auto arch7 = p;
    arch7.set(93, {0x00, 0x07});
    EXPECT_EQ(classify(arch7), client_class::uefi);
    auto ipxe = p;
    ipxe.set(77, {'i', 'P', 'X', 'E'});
    EXPECT_EQ(classify(ipxe), client_class::uefi);
}

TEST(classify, serial_from_guid) {
    EXPECT_EQ(serial_from_guid(dec(spec::pi3_bootcode_discover(pi3_mac, 0xa2ef5644))), 0xa2ef5644u);
    EXPECT_EQ(serial_from_guid(dec(spec::pi4_discover(pi4_mac, spec::guid_rpi4_be(0x6aee7243)))),
              0x6aee7243u);
    EXPECT_EQ(serial_from_guid(dec(spec::pi4_discover(pi5_mac, spec::guid_rpi5(0xda591740)))),
              0xda591740u);
    EXPECT_FALSE(serial_from_guid(dec(spec::pi3b_rom_discover())));
    EXPECT_FALSE(serial_from_guid(dec(spec::kernel_discover(pi4_mac))));
}

TEST(pxe, option43_matches_dnsmasq_bytes) {
    // Spec R4: 2b 20 06 01 03 0a 04 00 50 58 45 09 14 00 00 11 "Raspberry Pi Boot" ff
    bytes want = {0x06, 0x01, 0x03, 0x0a, 0x04, 0x00, 0x50,
                  0x58, 0x45, 0x09, 0x14, 0x00, 0x00, 0x11};
    spec::put_str(want, "Raspberry Pi Boot");
    want.push_back(0xff);
    EXPECT_EQ(build_option43("Raspberry Pi Boot", false), want);
    EXPECT_EQ(want.size(), 32u);
}

TEST(pxe, option43_pi3b_rom_variant) {
    // Spec R5: 2b 23 06 01 03 0a 04 00 50 58 45 09 17 00 00 14 "Raspberry Pi Boot   " ff
    bytes want = {0x06, 0x01, 0x03, 0x0a, 0x04, 0x00, 0x50,
                  0x58, 0x45, 0x09, 0x17, 0x00, 0x00, 0x14};
    spec::put_str(want, "Raspberry Pi Boot   ");
    want.push_back(0xff);
    const auto got = build_option43("Raspberry Pi Boot", true);
    EXPECT_EQ(got, want);
    EXPECT_EQ(got.size(), 35u);
    // Q1 model: the ROM finds the 17-byte string only at offsets 0..len-20.
    const std::string s(got.begin(), got.end());
    const auto at = s.find("Raspberry Pi Boot");
    EXPECT_LE(at, got.size() - 20);
    const auto plain = build_option43("Raspberry Pi Boot", false);
    const std::string ps(plain.begin(), plain.end());
    EXPECT_GT(ps.find("Raspberry Pi Boot"), plain.size() - 20); // why the 3B ROM needs the padding
}

TEST(pxe, long_menu_text_is_bounded) {
    const auto got = build_option43(std::string(300, 'x'), true);
    EXPECT_EQ(got[10], 255); // sub-option 9 length at most 255
    EXPECT_EQ(got.back(), 0xff);
}

} // namespace
} // namespace netbootd::dhcp
