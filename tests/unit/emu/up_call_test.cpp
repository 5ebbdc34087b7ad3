#include "netbootd/emu/up_call.hpp"

#include <gtest/gtest.h>

namespace netbootd::emu {
namespace {

TEST(up_url, parses_host_port_path) {
    auto u = parse_http_url("http://10.42.0.1:8080/api/v1/nodes/up");
    ASSERT_TRUE(u) << u.error();
    EXPECT_EQ(u->host, "10.42.0.1");
    EXPECT_EQ(u->port, "8080");
    EXPECT_EQ(u->target, "/api/v1/nodes/up");
    u = parse_http_url("http://server");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->port, "80");
    EXPECT_EQ(u->target, "/");
}

TEST(up_url, rejects_others) {
    EXPECT_FALSE(parse_http_url("https://server/up"));
    EXPECT_FALSE(parse_http_url("server/up"));
    EXPECT_FALSE(parse_http_url("http://:80/up"));
    EXPECT_FALSE(parse_http_url("http://server:x/up"));
    EXPECT_FALSE(parse_http_url("http://server:/up"));
}

TEST(up_call, refused_connection_is_an_error_not_a_hang) {
    // Port 1 on loopback: nothing listens there in a test environment.
    auto u = parse_http_url("http://127.0.0.1:1/up");
    ASSERT_TRUE(u);
    const auto start = std::chrono::steady_clock::now();
    auto r = http_post_json(*u, {{"mac", "x"}}, "", std::chrono::milliseconds(2000));
    EXPECT_FALSE(r);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

} // namespace
} // namespace netbootd::emu
