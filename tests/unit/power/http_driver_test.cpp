// The http driver against a loopback plug server: what arrives on the wire, faults in a 200
// answer, timeouts and refused connections.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "fake_plug_server.hpp"
#include "netbootd/power/http_client.hpp"
#include "test_support.hpp"

namespace netbootd::power {
namespace {

using testing::driver_from_yaml;
using testing::fake_plug_server;
using testing::sample_node;
using namespace std::chrono_literals;

TEST(http_driver, tasmota_request_arrives_as_planned) {
    fake_plug_server server;
    auto d = driver_from_yaml(
        "plugs", fmt::format("{{type: http, preset: tasmota, port: {}}}", server.port()));
    auto r = d->on(sample_node(), "127.0.0.1");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.detail, R"({"POWER":"ON"})");
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method, "GET");
    EXPECT_EQ(reqs[0].target, "/cm?cmnd=Power%20On");
    EXPECT_TRUE(server.state("tasmota"));
}

TEST(http_driver, shelly_status_with_spaced_json_and_auth_header) {
    fake_plug_server server;
    auto d = driver_from_yaml("plugs",
                              fmt::format("{{type: http, preset: shelly, port: {}, user: admin, "
                                          "password: secret}}",
                                          server.port()));
    ASSERT_TRUE(d->on(sample_node(), "127.0.0.1").ok);
    auto s = d->status(sample_node(), "127.0.0.1");
    ASSERT_TRUE(s.ok) << s.error;
    EXPECT_EQ(s.state, power_state::on);
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[1].target, "/relay/0");
    EXPECT_EQ(reqs[0].authorization, "Basic YWRtaW46c2VjcmV0");
}

TEST(http_driver, homematic_sets_state_of_the_channel_address) {
    fake_plug_server server;
    auto d = driver_from_yaml(
        "ccu",
        fmt::format("{{type: http, preset: homematic, host: 127.0.0.1, port: {}}}", server.port()));
    ASSERT_TRUE(d->on(sample_node(), "LEQ0123456:3").ok);
    EXPECT_TRUE(server.state("hm:LEQ0123456:3"));
    EXPECT_FALSE(server.state("hm:LEQ0123456:1"));
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method, "POST");
    EXPECT_EQ(reqs[0].content_type, "text/xml");
    EXPECT_NE(reqs[0].body.find("<string>LEQ0123456:3</string>"), std::string::npos);
}

TEST(http_driver, xmlrpc_fault_in_a_200_answer_is_a_failure) {
    fake_plug_server server;
    auto d = driver_from_yaml(
        "ccu",
        fmt::format("{{type: http, preset: homematic, host: 127.0.0.1, port: {}}}", server.port()));
    auto r = d->on(sample_node(), "no-such-device");
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("Unknown instance"), std::string::npos) << r.error;
}

TEST(http_driver, http_error_status_is_a_failure_with_the_body) {
    fake_plug_server server(true);
    auto d = driver_from_yaml(
        "plugs", fmt::format("{{type: http, preset: tasmota, port: {}}}", server.port()));
    auto r = d->off(sample_node(), "127.0.0.1");
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, fmt::format("HTTP 500 from 127.0.0.1:{}: relay fault", server.port()));
}

TEST(http_driver, silent_server_times_out) {
    // A listening socket that never accepts: the kernel completes the handshake, nobody answers.
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    const auto port = silent.local_endpoint().port();
    http_step s;
    s.host = "127.0.0.1";
    s.port = port;
    s.target = "/cm?cmnd=Power";
    s.timeout = 300ms;
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = send_http(s);
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.error, fmt::format("127.0.0.1:{}: no answer within 300ms (read)", port));
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 5s);
}

TEST(http_driver, refused_connection_is_reported) {
    std::uint16_t port = 0;
    {
        boost::asio::io_context io;
        boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
        port = a.local_endpoint().port();
    } // closed: nothing listens there now
    http_step s;
    s.host = "127.0.0.1";
    s.port = port;
    const auto r = send_http(s);
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.error.find("connect"), std::string::npos) << r.error;
}

TEST(http_driver, unknown_tasmota_command_is_a_failure) {
    fake_plug_server server;
    auto d = driver_from_yaml(
        "plugs", fmt::format("{{type: http, preset: tasmota, port: {}, on: '/cm?cmnd=Pwr%20On'}}",
                             server.port()));
    auto r = d->on(sample_node(), "127.0.0.1");
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("answered with an error"), std::string::npos) << r.error;
}

} // namespace
} // namespace netbootd::power
