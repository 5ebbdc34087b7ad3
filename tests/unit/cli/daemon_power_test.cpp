// netbootctl's link to a running daemon: where it is, and what the event stream tells power and
// enroll (unknown boards with MAC and serial, the wait points of known nodes).
#include "netbootd/cli/daemon_power.hpp"

#include <fstream>
#include <unistd.h>

#include <gtest/gtest.h>

namespace netbootd::cli {
namespace {

using namespace std::chrono_literals;

cluster_config config_with(const std::string& api) {
    return parse_config(R"(cluster:
  interface: eth0
  server_ip: 10.42.0.250
  subnet: 10.42.0.0/24
)" + api,
                        "c.yaml");
}

TEST(daemon_address, prefers_override_then_unix_socket_then_listen) {
    auto a = daemon_address_for(config_with("api: { listen: 0.0.0.0:9000 }\n"), "");
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(a->endpoint.to_string(), "http://127.0.0.1:9000");
    EXPECT_TRUE(a->token.empty());
    a = daemon_address_for(
        config_with("api: { listen: 127.0.0.1:9000, unix_socket: /run/nb/api.sock }\n"), "");
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(a->endpoint.to_string(), "unix:/run/nb/api.sock");
    a = daemon_address_for(config_with("api: { unix_socket: /run/nb/api.sock }\n"),
                           "http://10.0.0.1:8067");
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(a->endpoint.to_string(), "http://10.0.0.1:8067");
    EXPECT_FALSE(daemon_address_for(config_with(""), "http://x/y/z"));
}

TEST(daemon_address, reads_the_token_file) {
    const auto file =
        std::filesystem::temp_directory_path() / ("netbootctl-token-" + std::to_string(::getpid()));
    std::ofstream(file) << "  s3cret \n";
    auto a = daemon_address_for(config_with("api: { token_file: " + file.string() + " }\n"), "");
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(a->token, "s3cret");
    std::filesystem::remove(file);
    EXPECT_FALSE(
        daemon_address_for(config_with("api: { token_file: " + file.string() + " }\n"), ""));
}

TEST(daemon_session, nothing_answering_is_no_session) {
    daemon_address a{*parse_api_url("unix:/nonexistent/netbootd.sock"), ""};
    std::string why;
    EXPECT_EQ(daemon_session::connect(a, why), nullptr);
    EXPECT_FALSE(why.empty());
}

nlohmann::json unknown(const std::string& mac, const char* serial) {
    nlohmann::json j{
        {"kind", "dhcp.unknown_client"}, {"mac", mac}, {"fields", nlohmann::json::object()}};
    if (serial)
        j["fields"]["serial"] = serial;
    return j;
}

TEST(daemon_session, unknown_boards_come_in_order_with_their_serial) {
    daemon_session s(daemon_address{*parse_api_url("unix:/x"), ""}, 0);
    s.on_event(unknown("dc:a6:32:00:00:01", "27e247cc"));
    s.on_event(unknown("dc:a6:32:00:00:02", nullptr));
    s.on_event(unknown("not a mac", nullptr));                             // ignored
    s.on_event({{"kind", "dhcp.discover"}, {"mac", "dc:a6:32:00:00:03"}}); // not unknown
    const auto soon = std::chrono::steady_clock::now() + 50ms;
    auto a = s.next_unknown(soon);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->mac.to_string(), "dc:a6:32:00:00:01");
    EXPECT_EQ(a->serial, 0x27e247ccu);
    auto b = s.next_unknown(soon);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->mac.to_string(), "dc:a6:32:00:00:02");
    EXPECT_FALSE(b->serial);
    EXPECT_FALSE(s.next_unknown(std::chrono::steady_clock::now() + 20ms));
}

TEST(daemon_session, forget_drops_boards_seen_before_a_switch) {
    daemon_session s(daemon_address{*parse_api_url("unix:/x"), ""}, 0);
    s.on_event(unknown("dc:a6:32:00:00:01", nullptr));
    s.forget_unknown();
    EXPECT_FALSE(s.next_unknown(std::chrono::steady_clock::now() + 20ms));
}

TEST(daemon_session, wait_points_follow_the_stream_after_the_power_on) {
    daemon_session s(daemon_address{*parse_api_url("unix:/x"), ""}, 0);
    const auto pred = s.wait_predicate();
    node n;
    n.position = 3;
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(pred(n, power::wait_point::dhcp, t0));
    s.on_event({{"kind", "dhcp.discover"}, {"position", 3}});
    EXPECT_TRUE(pred(n, power::wait_point::dhcp, t0));
    EXPECT_FALSE(pred(n, power::wait_point::tftp, t0));
    s.on_event({{"kind", "tftp.sent"}, {"position", 4}}); // another node
    EXPECT_FALSE(pred(n, power::wait_point::tftp, t0));
    s.on_event({{"kind", "tftp.rrq"}, {"position", 3}});
    EXPECT_TRUE(pred(n, power::wait_point::tftp, t0));
    EXPECT_FALSE(pred(n, power::wait_point::up, t0));
    s.on_event({{"kind", "agent.up"}, {"position", 3}});
    EXPECT_TRUE(pred(n, power::wait_point::up, t0));
    // Events seen before a (later) power-on do not count for it.
    EXPECT_FALSE(pred(n, power::wait_point::dhcp, std::chrono::steady_clock::now() + 1s));
}

} // namespace
} // namespace netbootd::cli
