#include "netbootd/tftp/packet.hpp"

#include <gtest/gtest.h>

namespace netbootd::tftp {
namespace {

std::vector<std::uint8_t> bytes(std::string_view s) {
    return {s.begin(), s.end()};
}

/// Bytes of a string literal with embedded NULs, without its terminating NUL.
template <std::size_t N> std::vector<std::uint8_t> lit(const char (&s)[N]) {
    return bytes(std::string_view(s, N - 1));
}

std::vector<std::uint8_t> enc(const packet& p) {
    std::vector<std::uint8_t> out;
    encode_to(out, p);
    return out;
}

TEST(packet, pi4_rrq_decodes) {
    // RRQ "b7f44626/start4.elf" octet tsize 0 blksize 1024, as the Pi 4 EEPROM sends it.
    auto raw = lit("\0\1b7f44626/start4.elf\0octet\0tsize\0"
                   "0\0blksize\0"
                   "1024\0");
    auto p = decode(raw);
    ASSERT_TRUE(p);
    auto& r = std::get<request>(*p);
    EXPECT_FALSE(r.write);
    EXPECT_EQ(r.filename, "b7f44626/start4.elf");
    EXPECT_EQ(r.mode, "octet");
    ASSERT_EQ(r.options.size(), 2u);
    EXPECT_EQ(r.options[1], (option{"blksize", "1024"}));
}

TEST(packet, pi3_rom_rrq_without_options_is_21_bytes) {
    auto raw = enc(request{false, "bootcode.bin", "octet", {}});
    EXPECT_EQ(raw.size(), 21u);
    auto p = decode(raw);
    ASSERT_TRUE(p);
    EXPECT_TRUE(std::get<request>(*p).options.empty());
}

TEST(packet, early_terminate_exact_bytes) {
    const std::vector<std::uint8_t> raw = {0x00, 0x05, 0x00, 0x00, 0x45, 0x61, 0x72,
                                           0x6c, 0x79, 0x20, 0x74, 0x65, 0x72, 0x6d,
                                           0x69, 0x6e, 0x61, 0x74, 0x65, 0x00};
    auto p = decode(raw);
    ASSERT_TRUE(p);
    auto& e = std::get<error_packet>(*p);
    EXPECT_EQ(e.code, 0);
    EXPECT_EQ(e.message, "Early terminate");
    EXPECT_EQ(enc(e), raw);
}

TEST(packet, round_trips) {
    const std::vector<std::uint8_t> payload = {1, 2, 3, 0, 255};
    const std::vector<packet> cases = {
        request{false, "a/b.txt", "octet", {{"tsize", "0"}, {"windowsize", "8"}}},
        request{true, "up.bin", "netascii", {}},
        data_packet{65535, payload},
        data_packet{0, {}},
        ack_packet{0},
        ack_packet{65535},
        error_packet{1, "File not found"},
        error_packet{0, ""},
        oack_packet{{{"blksize", "1468"}, {"tsize", "2345678"}}},
    };
    for (const auto& c : cases) {
        auto raw = enc(c);
        auto back = decode(raw);
        ASSERT_TRUE(back) << "case " << c.index();
        EXPECT_EQ(*back, c) << "case " << c.index();
        EXPECT_EQ(enc(*back), raw);
    }
}

TEST(packet, data_header_matches_encoder) {
    auto h = data_header(0x1234);
    auto raw = enc(data_packet{0x1234, {}});
    EXPECT_TRUE(std::equal(h.begin(), h.end(), raw.begin(), raw.end()));
}

struct bad_case {
    const char* name;
    std::string raw;
    decode_error want;
};

TEST(packet, malformed_inputs) {
    using namespace std::string_literals;
    const std::vector<bad_case> cases = {
        {"empty", ""s, decode_error::too_short},
        {"three bytes", "\0\1a"s, decode_error::too_short},
        {"opcode 0", "\0\0a\0octet\0"s, decode_error::unknown_opcode},
        {"opcode 7", "\0\7abcd"s, decode_error::unknown_opcode},
        {"opcode 0x0100", "\1\1a\0octet\0"s, decode_error::unknown_opcode},
        {"no NUL after name", "\0\1abc"s, decode_error::unterminated_string},
        {"no mode", "\0\1abc\0"s, decode_error::unterminated_string},
        {"no NUL after mode", "\0\1abc\0octet"s, decode_error::unterminated_string},
        {"empty name", "\0\1\0octet\0"s, decode_error::empty_filename},
        {"name 256 bytes", "\0\1"s + std::string(256, 'a') + "\0octet\0"s,
         decode_error::filename_too_long},
        {"mode binary", "\0\1a\0binary\0"s, decode_error::bad_mode},
        {"mode empty", "\0\1a\0\0"s, decode_error::bad_mode},
        {"option without value", "\0\1a\0octet\0tsize\0"s, decode_error::odd_option},
        {"option value unterminated",
         "\0\1a\0octet\0tsize\0"
         "0"s,
         decode_error::odd_option},
        {"empty option name",
         "\0\1a\0octet\0\0"
         "0\0"s,
         decode_error::empty_option_name},
        {"duplicate option any case",
         "\0\1a\0octet\0tsize\0"
         "0\0TSIZE\0"
         "0\0"s,
         decode_error::duplicate_option},
        {"option name too long",
         "\0\1a\0octet\0"s + std::string(65, 'x') +
             "\0"
             "1\0"s,
         decode_error::option_too_long},
        {"ack with trailing byte", "\0\4\0\1\0"s, decode_error::trailing_bytes},
        {"error message unterminated", "\0\5\0\0abc"s, decode_error::unterminated_string},
        {"error message too long", "\0\5\0\0"s + std::string(300, 'm') + "\0"s,
         decode_error::message_too_long},
        {"oack odd", "\0\6blksize\0"s, decode_error::odd_option},
    };
    for (const auto& c : cases) {
        auto raw = bytes(c.raw);
        auto p = decode(raw);
        ASSERT_FALSE(p) << c.name;
        EXPECT_EQ(p.error(), c.want) << c.name << ": got " << to_string(p.error());
    }
}

TEST(packet, too_many_options) {
    std::string raw("\0\1a\0octet\0", 10);
    for (int i = 0; i < 17; ++i)
        raw += "o" + std::to_string(i) +
               std::string("\0"
                           "1\0",
                           3);
    auto p = decode(bytes(raw));
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error(), decode_error::too_many_options);
}

TEST(packet, mode_and_option_names_are_case_insensitive) {
    auto p = decode(lit("\0\1a\0OCTET\0BlkSize\0"
                        "1468\0"));
    ASSERT_TRUE(p);
    auto& r = std::get<request>(*p);
    ASSERT_NE(find_option(r.options, "blksize"), nullptr);
    EXPECT_EQ(find_option(r.options, "blksize")->value, "1468");
}

} // namespace
} // namespace netbootd::tftp
