#include "netbootd/dhcp/packet.hpp"

#include <gtest/gtest.h>

#include "netbootd/dhcp/options.hpp"
#include "spec_packets.hpp"

namespace netbootd::dhcp {
namespace {

using spec::bytes;

TEST(packet, decodes_pi3b_rom_discover_from_spec) {
    const auto raw = spec::pi3b_rom_discover();
    ASSERT_EQ(raw.size(), 320u); // spec §1.1: BOOTP payload 320 bytes
    auto p = decode(raw);
    ASSERT_TRUE(p) << to_string(p.error());
    EXPECT_EQ(p->xid, 0x26f30339u);
    EXPECT_EQ(p->type(), message_type::discover);
    EXPECT_EQ(p->mac().to_string(), "b8:27:eb:fc:6a:59");
    ASSERT_EQ(p->options.size(), 6u);
    const std::vector<std::uint8_t> order = {53, 55, 93, 94, 97, 60};
    for (std::size_t i = 0; i < order.size(); ++i)
        EXPECT_EQ(p->options[i].code, order[i]);
    EXPECT_EQ(p->text_option(opt::vendor_class), "PXEClient:Arch:00000:UNDI:002001");
    EXPECT_EQ(p->find(opt::parameter_list)->data.size(), 12u);
}

TEST(packet, pi4_discover_is_322_bytes) {
    EXPECT_EQ(spec::pi4_discover({0xdc, 0xa6, 0x32, 1, 2, 3}, spec::guid_rpi4_le()).size(), 322u);
    EXPECT_EQ(spec::pi3_bootcode_discover().size(), 322u);
}

packet sample_reply() {
    packet p;
    p.op = 2;
    p.xid = 0xdeadbeef;
    p.flags = packet::broadcast_flag;
    p.yiaddr = *ipv4_address::parse("10.42.0.2");
    p.siaddr = *ipv4_address::parse("10.42.0.250");
    p.chaddr[0] = 0xb8;
    p.chaddr[5] = 0x59;
    p.set(opt::message_type, {2});
    p.set_ip(opt::server_id, p.siaddr);
    p.set_text(opt::vendor_class, "PXEClient");
    return p;
}

TEST(packet, round_trip) {
    const auto p = sample_reply();
    std::vector<std::uint8_t> out;
    encode_to(out, p);
    auto q = decode(out);
    ASSERT_TRUE(q);
    EXPECT_EQ(*q, p);
}

TEST(packet, encode_pads_after_end_to_300_and_never_between_options) {
    std::vector<std::uint8_t> out;
    encode_to(out, sample_reply());
    ASSERT_EQ(out.size(), 300u);
    // Walk the options: no 0 before END, then only zeros.
    std::size_t i = 240;
    while (out[i] != 0xff) {
        ASSERT_NE(out[i], 0) << "pad between options at " << i;
        i += 2 + out[i + 1];
    }
    for (++i; i < out.size(); ++i)
        EXPECT_EQ(out[i], 0);
}

TEST(packet, long_option_split_and_joined_rfc3396) {
    auto p = sample_reply();
    p.set(opt::vendor_specific, std::vector<std::uint8_t>(600, 0x41));
    std::vector<std::uint8_t> out;
    encode_to(out, p);
    std::size_t instances = 0;
    for (std::size_t i = 240; out[i] != 0xff; i += 2 + out[i + 1])
        instances += out[i] == opt::vendor_specific;
    EXPECT_EQ(instances, 3u); // 255 + 255 + 90
    auto q = decode(out);
    ASSERT_TRUE(q);
    EXPECT_EQ(q->find(opt::vendor_specific)->data.size(), 600u);
    EXPECT_EQ(*q, p);
}

TEST(packet, overload_reads_file_then_sname) {
    auto raw = spec::header({1, 2, 3, 4, 5, 6}, 1);
    spec::put(raw, {0x34, 0x01, 0x03, 0x35, 0x01, 0x01, 0xff});
    raw[108] = opt::hostname; // file field
    raw[109] = 2;
    raw[110] = 'a';
    raw[111] = 'b';
    raw[112] = 0xff;
    raw[44] = opt::hostname; // sname field: concatenated after file (RFC 3396 order)
    raw[45] = 1;
    raw[46] = 'c';
    raw[47] = 0xff;
    auto p = decode(raw);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->text_option(opt::hostname), "abc");
    EXPECT_FALSE(p->has(opt::overload));
    EXPECT_EQ(p->file[0], 0);
}

TEST(packet, overload_inside_overloaded_field_is_ignored) {
    auto raw = spec::header({1, 2, 3, 4, 5, 6}, 1);
    spec::put(raw, {0x34, 0x01, 0x01, 0x35, 0x01, 0x01, 0xff});
    // The file field claims to overload again (a loop): ignored, no recursion.
    raw[108] = 0x34;
    raw[109] = 1;
    raw[110] = 3;
    raw[111] = 0xff;
    auto p = decode(raw);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->type(), message_type::discover);
}

struct malformed_case {
    const char* name;
    bytes raw;
    decode_error want;
};

bytes with(bytes b, std::size_t at, std::uint8_t v) {
    b[at] = v;
    return b;
}
bytes cut(bytes b, std::size_t n) {
    b.resize(n);
    return b;
}
bytes append(bytes b, std::initializer_list<std::uint8_t> v) {
    b.insert(b.end(), v);
    return b;
}

TEST(packet, malformed_inputs_are_errors_not_crashes) {
    const auto good = spec::header({1, 2, 3, 4, 5, 6}, 7);
    const std::vector<malformed_case> cases = {
        {"empty", {}, decode_error::truncated_header},
        {"header only", cut(good, 236), decode_error::truncated_header},
        {"cookie cut", cut(good, 239), decode_error::truncated_header},
        {"bad cookie", with(good, 239, 0x64), decode_error::bad_cookie},
        {"hlen 17", with(good, 2, 17), decode_error::bad_hlen},
        {"hlen 255", with(good, 2, 255), decode_error::bad_hlen},
        {"option length past end", append(good, {0x35, 0x05, 0x01}), decode_error::option_overrun},
        {"option code without length", append(good, {0x35}), decode_error::option_overrun},
        {"overload value 0", append(good, {0x34, 0x01, 0x00, 0xff}), decode_error::bad_overload},
        {"overload value 4", append(good, {0x34, 0x01, 0x04, 0xff}), decode_error::bad_overload},
        {"overload length 2", append(good, {0x34, 0x02, 0x01, 0x01, 0xff}),
         decode_error::bad_overload},
        {"too large", bytes(max_packet_size + 1, 0), decode_error::too_large},
    };
    for (const auto& c : cases) {
        auto p = decode(c.raw);
        ASSERT_FALSE(p) << c.name;
        EXPECT_EQ(p.error(), c.want) << c.name << ": got " << to_string(p.error());
    }
    // Overloaded file field whose option runs past the field.
    auto ov = append(good, {0x34, 0x01, 0x01, 0xff});
    ov[108] = 12;
    ov[109] = 200;
    auto p = decode(ov);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error(), decode_error::option_overrun);
}

TEST(packet, accepted_oddities) {
    const auto good = spec::header({1, 2, 3, 4, 5, 6}, 7);
    // hlen 0 decodes (the policy drops it as not Ethernet).
    auto p = decode(with(good, 2, 0));
    ASSERT_TRUE(p);
    EXPECT_EQ(p->hlen, 0);
    // A huge option 55 (255 codes) and a missing END both decode.
    bytes prl = good;
    prl.push_back(55);
    prl.push_back(255);
    for (int i = 0; i < 255; ++i)
        prl.push_back(static_cast<std::uint8_t>(i));
    auto q = decode(prl);
    ASSERT_TRUE(q);
    EXPECT_EQ(q->find(opt::parameter_list)->data.size(), 255u);
    // Pads between options are skipped.
    auto r = decode(append(good, {0, 0, 0x35, 0x01, 0x03, 0, 0xff}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type(), message_type::request);
    // A repeated option is concatenated (RFC 3396).
    auto s = decode(append(good, {12, 2, 'n', 'o', 12, 2, 'd', 'e', 0xff}));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->text_option(opt::hostname), "node");
}

TEST(options, table_lookup_and_format) {
    ASSERT_NE(find_option(opt::router), nullptr);
    EXPECT_EQ(find_option(opt::router)->name, "router");
    EXPECT_EQ(find_option("vendor-class")->code, opt::vendor_class);
    EXPECT_EQ(find_option(std::uint8_t{200}), nullptr);
    EXPECT_EQ(format_option(opt::dns, {10, 42, 0, 1, 10, 42, 0, 2}), "10.42.0.1, 10.42.0.2");
    EXPECT_EQ(format_option(opt::vendor_class, {'P', 'X', 'E'}), "PXE");
    EXPECT_EQ(format_option(opt::lease_time, {0, 0, 0x0e, 0x10}), "3600");
    EXPECT_EQ(format_option(200, {0xab, 0x01}), "ab 01");
    for (std::size_t i = 1; i < option_table().size(); ++i)
        EXPECT_LT(option_table()[i - 1].code, option_table()[i].code);
}

} // namespace
} // namespace netbootd::dhcp
