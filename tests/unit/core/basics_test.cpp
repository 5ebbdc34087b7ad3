// net_types, duration, template: small pure parsers, each row changes one thing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "netbootd/core/duration.hpp"
#include "netbootd/core/net_types.hpp"
#include "netbootd/core/template.hpp"

using namespace netbootd;
using namespace std::chrono_literals;

TEST(mac_address, accepts_the_usual_spellings) {
    for (auto text :
         {"b8:27:eb:fc:6a:59", "B8:27:EB:FC:6A:59", "b8-27-eb-fc-6a-59", "b827ebfc6a59"}) {
        auto m = mac_address::parse(text);
        ASSERT_TRUE(m) << text;
        EXPECT_EQ(m->to_string(), "b8:27:eb:fc:6a:59");
        EXPECT_EQ(m->to_dashed(), "b8-27-eb-fc-6a-59");
        EXPECT_EQ(m->oui(), 0xb827ebu);
    }
}

TEST(mac_address, rejects_malformed) {
    for (auto text : {"", "b8:27:eb:fc:6a", "b8:27:eb:fc:6a:5g", "b8:27-eb:fc:6a:59",
                      "b8:27:eb:fc:6a:59:00", "b827ebfc6a5", "b8.27.eb.fc.6a.59"})
        EXPECT_FALSE(mac_address::parse(text)) << text;
}

TEST(ipv4, parse_and_format) {
    EXPECT_EQ(ipv4_address::parse("10.42.0.250")->value, 0x0a2a00fau);
    EXPECT_EQ(ipv4_address{0x0a2a00fa}.to_string(), "10.42.0.250");
    for (auto text : {"", "10.42.0", "10.42.0.256", "10.42.0.1.", "10.042.0.1", "a.b.c.d",
                      "10.42.0.1/24", " 10.42.0.1"})
        EXPECT_FALSE(ipv4_address::parse(text)) << text;
}

TEST(ipv4, subnet) {
    auto s = ipv4_subnet::parse("10.42.0.0/24");
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->contains(*ipv4_address::parse("10.42.0.60")));
    EXPECT_FALSE(s->contains(*ipv4_address::parse("10.42.1.1")));
    EXPECT_EQ(s->broadcast().to_string(), "10.42.0.255");
    EXPECT_FALSE(ipv4_subnet::parse("10.42.0.1/24")) << "host bits set";
    EXPECT_FALSE(ipv4_subnet::parse("10.42.0.0/33"));
    EXPECT_TRUE(ipv4_subnet::parse("0.0.0.0/0")->contains(*ipv4_address::parse("8.8.8.8")));
}

TEST(serial, eight_hex_digits) {
    EXPECT_EQ(parse_serial("27e247cc"), 0x27e247ccu);
    EXPECT_EQ(parse_serial("27E247CC"), 0x27e247ccu);
    EXPECT_EQ(format_serial(0x0000abcd), "0000abcd");
    EXPECT_FALSE(parse_serial("27e247c"));
    EXPECT_FALSE(parse_serial("27e247ccd"));
    EXPECT_FALSE(parse_serial("27e247cg"));
}

TEST(duration, units) {
    EXPECT_EQ(parse_duration("500ms"), 500ms);
    EXPECT_EQ(parse_duration("2s"), 2000ms);
    EXPECT_EQ(parse_duration("2"), 2000ms);
    EXPECT_EQ(parse_duration("5m"), 300000ms);
    EXPECT_EQ(parse_duration("12h"), 43200000ms);
    EXPECT_EQ(parse_duration("1d"), 86400000ms);
    EXPECT_EQ(parse_duration("1h30m"), 5400000ms);
    for (auto bad : {"", "s", "2x", "-1s", "1.5s", "2s3"})
        EXPECT_FALSE(parse_duration(bad)) << bad;
    EXPECT_EQ(format_duration(7200000ms), "2h");
    EXPECT_EQ(format_duration(1500ms), "1500ms");
}

TEST(template_, variables_and_widths) {
    template_vars v{{"position", std::int64_t{7}}, {"hostname", std::string("node07")}};
    EXPECT_EQ(*render_template("node{position:02}", v), "node07");
    EXPECT_EQ(*render_template("n{position:4}|", v), "n   7|");
    EXPECT_EQ(*render_template("10.42.0.{position}", v), "10.42.0.7");
    EXPECT_EQ(*render_template("{hostname}.cluster {{literal}}", v), "node07.cluster {literal}");
}

TEST(template_, errors_point_at_the_offset) {
    template_vars v{{"position", std::int64_t{7}}, {"hostname", std::string("node07")}};
    auto e1 = render_template("abc{nope}", v);
    ASSERT_FALSE(e1);
    EXPECT_EQ(e1.error().offset, 3u);
    EXPECT_EQ(e1.error().message, "unknown variable '{nope}'");
    EXPECT_FALSE(render_template("abc{position", v));
    EXPECT_FALSE(render_template("abc}", v));
    EXPECT_FALSE(render_template("{hostname:02}", v)) << "widths apply to numbers only";
    EXPECT_FALSE(render_template("{position:x}", v));
}
