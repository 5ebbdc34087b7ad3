#include "hex.hpp"
#include "netbootd/core/sha256.hpp"
#include "netbootd/emu/boot.hpp"
#include "netbootd/emu/tftp_packet.hpp"

#include <gtest/gtest.h>
#include <string>

namespace netbootd::emu {
namespace {

using test::hex;

TEST(tftp, rom_rrq_has_no_options) {
    const bytes b = build_rrq("bootcode.bin");
    EXPECT_EQ(b, hex("00 01 \"bootcode.bin\" 00 \"octet\" 00"));
    EXPECT_EQ(b.size(), 21u) << "UDP payload 21 bytes in the RPi capture";
}

TEST(tftp, bootcode_and_eeprom_rrqs) {
    EXPECT_EQ(build_rrq("7285c0f2/start.elf", {{"tsize", "0"}}),
              hex("00 01 \"7285c0f2/start.elf\" 00 \"octet\" 00 \"tsize\" 00 \"0\" 00"));
    EXPECT_EQ(build_rrq("start4.elf", {{"tsize", "0"}, {"blksize", "1024"}}),
              hex("00 01 \"start4.elf\" 00 \"octet\" 00 \"tsize\" 00 \"0\" 00 \"blksize\" 00 "
                  "\"1024\" 00"));
}

TEST(tftp, early_terminate_exact_bytes) {
    EXPECT_EQ(early_terminate(),
              hex("00 05 00 00 45 61 72 6c 79 20 74 65 72 6d 69 6e 61 74 65 00"));
}

TEST(tftp, ack_and_error) {
    EXPECT_EQ(build_ack(0), hex("00 04 00 00"));
    EXPECT_EQ(build_ack(65535), hex("00 04 ff ff"));
    EXPECT_EQ(build_error(5, "x"), hex("00 05 00 05 78 00"));
}

TEST(tftp, parse_server_packets) {
    const bytes data = hex("00 03 00 07 aa bb"); // DATA points into it
    auto d = parse_tftp(data);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->opcode, tftp_opcode::data);
    EXPECT_EQ(d->block, 7);
    EXPECT_EQ(bytes(d->data.begin(), d->data.end()), hex("aa bb"));

    auto e = parse_tftp(hex("00 05 00 01 \"File not found\" 00"));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->opcode, tftp_opcode::error);
    EXPECT_EQ(e->error_code, 1);
    EXPECT_EQ(e->error_message, "File not found");

    auto o = parse_tftp(hex("00 06 \"TSIZE\" 00 \"300001\" 00 \"blksize\" 00 \"1024\" 00"));
    ASSERT_TRUE(o);
    EXPECT_EQ(o->opcode, tftp_opcode::oack);
    ASSERT_EQ(o->options.size(), 2u);
    EXPECT_EQ(o->options[0].first, "tsize") << "names are case-insensitive";
    EXPECT_EQ(o->options[0].second, "300001");
    EXPECT_EQ(o->options[1].second, "1024");
}

TEST(tftp, parse_rejects_malformed) {
    EXPECT_FALSE(parse_tftp(hex("00 03 00")));
    EXPECT_FALSE(parse_tftp(hex("00 06 \"tsize\" 00"))) << "option without value";
    EXPECT_FALSE(parse_tftp(hex("00 06 \"tsize\" 00 \"1\""))) << "no final NUL";
    EXPECT_FALSE(parse_tftp(hex("00 01 \"x\" 00 \"octet\" 00"))) << "a server never sends RRQ";
}

TEST(sha256, known_vectors) {
    auto digest = [](std::string_view s) {
        sha256 h;
        h.update(byte_view(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
        return h.hex_digest();
    };
    EXPECT_EQ(digest(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    // Fed in odd-sized pieces: same result as one update.
    const std::string million(1000000, 'a');
    sha256 h;
    for (std::size_t at = 0; at < million.size(); at += 997) {
        const std::size_t n = std::min<std::size_t>(997, million.size() - at);
        h.update(byte_view(reinterpret_cast<const std::uint8_t*>(million.data() + at), n));
    }
    EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(config, initramfs_lines) {
    EXPECT_EQ(initramfs_from_config("arm_64bit=1\ninitramfs initramfs_2712 followkernel\n"
                                    "# initramfs commented\ninitramfs ../etc/passwd\n"),
              std::vector<std::string>{"initramfs_2712"});
    EXPECT_TRUE(initramfs_from_config("").empty());
}

TEST(config_txt, kernel_line_names_the_kernel) {
    EXPECT_EQ(kernel_from_config("[all]\narm_64bit=1\nkernel=kernel8-custom.img\n"),
              "kernel8-custom.img");
    EXPECT_EQ(kernel_from_config("kernel = a.img # first\nkernel=b.img\n"), "b.img")
        << "the last one wins";
    EXPECT_EQ(kernel_from_config("#kernel=commented.img\n"), "");
    EXPECT_EQ(kernel_from_config("kernel=../../etc/passwd\n"), "") << "unsafe paths are ignored";
    EXPECT_EQ(kernel_from_config("kernel_address=0x80000\n"), "");
}

} // namespace
} // namespace netbootd::emu
