#include "hex.hpp"
#include "netbootd/emu/dhcp_build.hpp"
#include "netbootd/emu/frame.hpp"

#include <gtest/gtest.h>

namespace netbootd::emu {
namespace {

using test::hex;

const mac_address pi3_mac{{0xb8, 0x27, 0xeb, 0x85, 0xc0, 0xf2}};

bytes pi3_discover() {
    return build_discover(
        {pi3_mac, pi3_xid, prl_kind::rom12, option97_guid(opt97_style::const44, pi3_mac, 0, 0)});
}

TEST(frame, pi3_headers_match_the_capture) {
    udp_frame_params p;
    p.src_mac = pi3_mac;
    p.ttl = 128;
    p.ip_id = 0;
    p.udp_checksum = false;
    const bytes payload = pi3_discover();
    const bytes f = build_udp_frame(p, payload);
    ASSERT_EQ(f.size(), 14u + 20 + 8 + 320);
    EXPECT_EQ(bytes(f.begin(), f.begin() + 14), hex("ff ff ff ff ff ff b8 27 eb 85 c0 f2 08 00"));
    // IPv4: 45 00, length 348, id 0, no DF, TTL 128, UDP, 0.0.0.0 → 255.255.255.255.
    EXPECT_EQ(bytes(f.begin() + 14, f.begin() + 24), hex("45 00 01 5c 00 00 00 00 80 11"));
    EXPECT_EQ(bytes(f.begin() + 26, f.begin() + 34), hex("00 00 00 00 ff ff ff ff"));
    EXPECT_EQ(inet_checksum(byte_view(f).subspan(14, 20)), 0) << "IP header checksum";
    // UDP 68 → 67, length 328, checksum 0.
    EXPECT_EQ(bytes(f.begin() + 34, f.begin() + 42), hex("00 44 00 43 01 48 00 00"));
}

TEST(frame, pi4_udp_checksum_verifies_over_the_pseudo_header) {
    udp_frame_params p;
    p.src_mac = pi3_mac;
    p.udp_checksum = true;
    const bytes payload = pi3_discover();
    const bytes f = build_udp_frame(p, payload);
    const byte_view udp = byte_view(f).subspan(34);
    ASSERT_NE(get_u16(udp, 6), 0);
    // src 0.0.0.0 + dst 255.255.255.255 + proto 17 + UDP length: summing the segment with its
    // checksum must give 0xffff (complemented: 0).
    const std::uint32_t pseudo = 0xffff + 0xffff + 17 + static_cast<std::uint32_t>(udp.size());
    EXPECT_EQ(inet_checksum(udp, pseudo), 0);
}

TEST(frame, parse_round_trip) {
    udp_frame_params p;
    p.src_mac = pi3_mac;
    p.dst_mac = mac_address{{1, 2, 3, 4, 5, 6}};
    p.src_ip = *ipv4_address::parse("10.42.0.1");
    p.dst_ip = *ipv4_address::parse("10.42.0.7");
    p.src_port = 67;
    p.dst_port = 68;
    const bytes payload = hex("01 02 03 04 05");
    const bytes f = build_udp_frame(p, payload);
    auto d = parse_udp_frame(f);
    ASSERT_TRUE(d) << d.error();
    EXPECT_EQ(d->eth_src, pi3_mac);
    EXPECT_EQ(d->eth_dst, p.dst_mac);
    EXPECT_EQ(d->src, p.src_ip);
    EXPECT_EQ(d->dst, p.dst_ip);
    EXPECT_EQ(d->src_port, 67);
    EXPECT_EQ(d->dst_port, 68);
    EXPECT_EQ(bytes(d->payload.begin(), d->payload.end()), payload);
}

TEST(frame, parse_rejects_garbage) {
    EXPECT_FALSE(parse_udp_frame(hex("ff ff")));
    udp_frame_params p;
    bytes f = build_udp_frame(p, hex("00"));
    f[23] = 6; // TCP
    EXPECT_FALSE(parse_udp_frame(f));
    f = build_udp_frame(p, hex("00"));
    f[12] = 0x86; // not IPv4
    EXPECT_FALSE(parse_udp_frame(f));
    f = build_udp_frame(p, hex("00 00 00 00"));
    f[16] = 0xff; // IP total length beyond the frame
    EXPECT_FALSE(parse_udp_frame(f));
    f = build_udp_frame(p, hex("00"));
    f[20] = 0x20; // more fragments
    EXPECT_FALSE(parse_udp_frame(f));
}

} // namespace
} // namespace netbootd::emu
