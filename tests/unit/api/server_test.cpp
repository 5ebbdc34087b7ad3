// The HTTP API on loopback: real sockets, the real Beast server, a blocking client per test.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "netbootd/api/server.hpp"

#include <future>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include "fixture.hpp"

namespace netbootd::api {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

struct live_server {
    test::fixture f;
    asio::io_context io;
    std::unique_ptr<server> srv;
    std::thread thread;
    unsigned short port = 0;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

    explicit live_server(server_limits lim = {}) {
        srv = std::make_unique<server>(io, *f.r, f.bus, &f.stats, lim);
        srv->listen_tcp("127.0.0.1:0");
        port = srv->tcp_endpoint().port();
        work.emplace(io.get_executor());
        thread = std::thread([this] { io.run(); });
    }
    ~live_server() {
        asio::post(io, [this] { srv->stop(); });
        work.reset();
        // Everything ends on its own once the acceptor and connections are closed.
        std::this_thread::sleep_for(50ms);
        io.stop();
        thread.join();
    }

    tcp::socket connect() {
        tcp::socket s(client_io);
        s.connect({asio::ip::make_address("127.0.0.1"), port});
        timeval tv{5, 0};
        ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        return s;
    }
    /// Sends raw bytes, reads until the server closes (Connection: close) or 5 s pass.
    std::string raw(const std::string& bytes) {
        auto s = connect();
        asio::write(s, asio::buffer(bytes));
        std::string out;
        char buf[4096];
        boost::system::error_code ec;
        for (;;) {
            auto n = s.read_some(asio::buffer(buf), ec);
            if (ec)
                break;
            out.append(buf, n);
        }
        return out;
    }
    std::string request(const std::string& method, const std::string& target,
                        const std::string& body = {}, const std::string& extra = {}) {
        std::string r =
            method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra;
        if (!body.empty() || method == "POST")
            r +=
                "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\n";
        r += "\r\n" + body;
        return raw(r);
    }
    static int status_of(const std::string& resp) {
        if (resp.size() < 12 || !resp.starts_with("HTTP/1.1 "))
            return -1;
        return std::stoi(resp.substr(9, 3));
    }
    static nlohmann::json body_json(const std::string& resp) {
        auto p = resp.find("\r\n\r\n");
        return nlohmann::json::parse(resp.substr(p + 4), nullptr, false);
    }

    asio::io_context client_io;
};

TEST(server, every_endpoint_over_http) {
    live_server s;
    s.f.publish(1, "dhcp.discover", {{"stage", "pi4"}});
    auto r = s.request("GET", "/api/v1/nodes");
    ASSERT_EQ(live_server::status_of(r), 200) << r;
    EXPECT_NE(r.find("Content-Type: application/json"), std::string::npos);
    EXPECT_EQ(live_server::body_json(r)["nodes"].size(), 3u);
    r = s.request("GET", "/api/v1/nodes/node01");
    EXPECT_EQ(live_server::body_json(r)["state"]["stage"], "dhcp");
    r = s.request("GET", "/api/v1/nodes/1/diagnosis");
    EXPECT_EQ(live_server::status_of(r), 200);
    EXPECT_EQ(live_server::body_json(r)["stage"], "dhcp");
    r = s.request("GET", "/api/v1/events?node=1");
    EXPECT_EQ(live_server::body_json(r)["events"].size(), 1u);
    r = s.request("GET", "/metrics");
    EXPECT_EQ(live_server::status_of(r), 200);
    EXPECT_NE(r.find("netbootd_dhcp_packets_total{type=\"discover\"} 1"), std::string::npos);
    r = s.request("POST", "/api/v1/nodes/1/power", R"({"action":"on"})");
    EXPECT_EQ(live_server::status_of(r), 401);
    r = s.request("POST", "/api/v1/nodes/1/power", R"({"action":"on"})",
                  "Authorization: Bearer s3cret\r\n");
    EXPECT_EQ(live_server::status_of(r), 501);
    // The test client is 127.0.0.1, not node01's address.
    r = s.request("POST", "/api/v1/nodes/1/up", "{}");
    EXPECT_EQ(live_server::status_of(r), 403);
    r = s.request("HEAD", "/api/v1/nodes");
    EXPECT_EQ(live_server::status_of(r), 200);
}

TEST(server, a_slow_power_action_does_not_stall_other_requests) {
    live_server s;
    std::thread worker;
    std::promise<void> release;
    auto released = release.get_future().share();
    std::promise<void> started;
    // The hook hands the action to another thread, as the daemon's power service does; the
    // action ends only when the test says so, after another request was answered.
    asio::post(s.io, [&] {
        s.f.r->set_power_hook([&](const power_request& rq, power_done done) {
            worker = std::thread([&started, released, rq, done = std::move(done)] {
                started.set_value();
                released.wait();
                done(nlohmann::json{{"state", "on"}, {"position", rq.position}});
            });
        });
    });
    std::string slow;
    std::thread client([&] {
        slow = s.request("POST", "/api/v1/nodes/2/power", R"({"action":"on"})",
                         "Authorization: Bearer s3cret\r\n");
    });
    auto started_f = started.get_future();
    if (started_f.wait_for(10s) != std::future_status::ready) {
        ADD_FAILURE() << "the power hook was never called";
        release.set_value();
        client.join();
        if (worker.joinable())
            worker.join();
        return;
    }
    // Answered while the power action is still running (the client gives up after 5 s).
    EXPECT_EQ(live_server::status_of(s.request("GET", "/api/v1/nodes")), 200);
    release.set_value();
    client.join();
    worker.join();
    EXPECT_EQ(live_server::status_of(slow), 200) << slow;
    EXPECT_EQ(live_server::body_json(slow)["result"]["position"], 2);
}

TEST(server, keep_alive_serves_several_requests) {
    live_server s;
    auto sock = s.connect();
    const std::string one = "GET /api/v1/nodes/1 HTTP/1.1\r\nHost: x\r\n\r\n";
    asio::write(sock, asio::buffer(one + one +
                                   "GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                   "Connection: close\r\n\r\n"));
    std::string all;
    char buf[4096];
    boost::system::error_code ec;
    for (;;) {
        auto n = sock.read_some(asio::buffer(buf), ec);
        if (ec)
            break;
        all.append(buf, n);
    }
    std::size_t count = 0;
    for (auto p = all.find("HTTP/1.1 200"); p != std::string::npos;
         p = all.find("HTTP/1.1 200", p + 1))
        ++count;
    EXPECT_EQ(count, 3u);
}

TEST(server, malformed_requests_get_json_4xx_and_server_survives) {
    live_server s;
    for (const std::string& bad :
         {std::string("GARBAGE\r\n\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
          std::string("GET /api/v1/nodes HTTP/1.1\r\nContent-Length: -5\r\n\r\n"),
          std::string("\x00\x01\x02\xff\r\n\r\n", 8),
          std::string("GET /api/v1/events?limit=%%% HTTP/1.1\r\nConnection: close\r\n\r\n")}) {
        auto r = s.raw(bad);
        const int st = live_server::status_of(r);
        EXPECT_GE(st, 400) << r;
        EXPECT_LT(st, 500) << r;
        EXPECT_TRUE(live_server::body_json(r)["error"].is_string()) << r;
    }
    EXPECT_EQ(live_server::status_of(s.request("GET", "/api/v1/nodes")), 200);
}

TEST(server, oversized_body_and_header_are_refused) {
    server_limits lim;
    lim.max_body_bytes = 1024;
    lim.max_header_bytes = 2048;
    live_server s(lim);
    auto r = s.request("POST", "/api/v1/nodes/1/power", std::string(5000, 'x'),
                       "Authorization: Bearer s3cret\r\n");
    EXPECT_EQ(live_server::status_of(r), 413) << r;
    EXPECT_EQ(live_server::body_json(r)["status"], 413);
    r = s.request("GET", "/api/v1/nodes", {}, "X-Big: " + std::string(4000, 'a') + "\r\n");
    EXPECT_EQ(live_server::status_of(r), 431) << r;
    EXPECT_EQ(live_server::status_of(s.request("GET", "/api/v1/nodes")), 200);
}

TEST(server, connection_limit) {
    server_limits lim;
    lim.max_connections = 2;
    live_server s(lim);
    auto a = s.connect();
    auto b = s.connect();
    std::this_thread::sleep_for(100ms); // let the server accept both
    auto r = s.request("GET", "/api/v1/nodes");
    EXPECT_EQ(live_server::status_of(r), 503) << r;
    a.close();
    b.close();
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(live_server::status_of(s.request("GET", "/api/v1/nodes")), 200);
}

TEST(server, idle_and_slow_request_clients_are_timed_out) {
    server_limits lim;
    lim.io_timeout = 300ms;
    lim.idle_timeout = 300ms;
    live_server s(lim);
    auto sock = s.connect();
    asio::write(sock, asio::buffer(std::string("GET /api/v1/nodes HTTP/1.1\r\nHo")));
    const auto t0 = std::chrono::steady_clock::now();
    char buf[256];
    boost::system::error_code ec;
    auto n = sock.read_some(asio::buffer(buf), ec);
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
    EXPECT_EQ(n, 0u);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s); // closed by the server, not our 5 s
    EXPECT_EQ(live_server::status_of(s.request("GET", "/api/v1/nodes")), 200);
}

// Reads SSE frames until `want` data lines arrived or the socket times out.
std::vector<nlohmann::json> read_sse(tcp::socket& sock, std::size_t want, std::string& raw) {
    std::vector<nlohmann::json> out;
    char buf[4096];
    boost::system::error_code ec;
    while (out.size() < want) {
        auto n = sock.read_some(asio::buffer(buf), ec);
        if (ec)
            break;
        raw.append(buf, n);
        out.clear();
        std::size_t p = 0;
        while ((p = raw.find("\ndata: ", p)) != std::string::npos) {
            auto e = raw.find('\n', p + 7);
            if (e == std::string::npos)
                break;
            out.push_back(nlohmann::json::parse(raw.substr(p + 7, e - p - 7)));
            p = e;
        }
    }
    return out;
}

TEST(server, sse_subscriber_gets_later_events_filtered) {
    live_server s;
    s.f.publish(2, "tftp.sent", {{"file", "before.txt"}}); // before subscribing: not streamed
    auto sock = s.connect();
    asio::write(sock, asio::buffer(std::string(
                          "GET /api/v1/events/stream?node=node02&kind=tftp. HTTP/1.1\r\n"
                          "Host: x\r\n\r\n")));
    std::string raw;
    // Wait for the response head so the subscription exists.
    char buf[1024];
    boost::system::error_code ec;
    while (raw.find(": connected") == std::string::npos) {
        auto n = sock.read_some(asio::buffer(buf), ec);
        ASSERT_FALSE(ec) << ec.message();
        raw.append(buf, n);
    }
    EXPECT_NE(raw.find("Content-Type: text/event-stream"), std::string::npos);
    s.f.publish(1, "tftp.sent", {{"file", "other-node"}});
    s.f.publish(2, "dhcp.discover", {{"file", "other-kind"}});
    s.f.publish(2, "tftp.rrq", {{"file", "a"}});
    event by_mac;
    by_mac.kind = "tftp.sent";
    by_mac.mac = mac_address::parse("dc:a6:32:00:00:02");
    by_mac.fields = {{"file", "b"}};
    s.f.bus.publish(by_mac);
    auto evs = read_sse(sock, 2, raw);
    ASSERT_EQ(evs.size(), 2u) << raw;
    EXPECT_EQ(evs[0]["fields"]["file"], "a");
    EXPECT_EQ(evs[1]["fields"]["file"], "b");
    EXPECT_NE(raw.find("event: tftp.rrq\n"), std::string::npos);
    EXPECT_EQ(raw.find("before.txt"), std::string::npos);
    EXPECT_EQ(raw.find("other-"), std::string::npos);
}

TEST(server, sse_resumes_after_last_event_id) {
    live_server s;
    for (int i = 0; i < 5; ++i)
        s.f.publish(1, "tftp.sent", {{"i", i}});
    auto sock = s.connect();
    asio::write(sock, asio::buffer(std::string("GET /api/v1/events/stream HTTP/1.1\r\n"
                                               "Host: x\r\nLast-Event-ID: 3\r\n\r\n")));
    std::string raw;
    auto evs = read_sse(sock, 2, raw);
    ASSERT_EQ(evs.size(), 2u) << raw;
    EXPECT_EQ(evs[0]["seq"], 4);
    EXPECT_EQ(evs[1]["seq"], 5);
}

TEST(server, sse_resume_far_behind_sends_every_missed_event_oldest_first) {
    // A client dropped for being slow is thousands of events behind when it comes back; the
    // resume must not skip the oldest of them.
    live_server s;
    for (int i = 0; i < 3000; ++i)
        s.f.publish(1 + i % 3, "tftp.sent", {{"i", i}});
    auto sock = s.connect();
    asio::write(sock, asio::buffer(std::string("GET /api/v1/events/stream HTTP/1.1\r\n"
                                               "Host: x\r\nLast-Event-ID: 10\r\n\r\n")));
    std::string raw;
    char buf[65536];
    boost::system::error_code ec;
    while (raw.find("\nid: 3000\n") == std::string::npos) {
        auto n = sock.read_some(asio::buffer(buf), ec);
        ASSERT_FALSE(ec) << ec.message() << " after " << raw.size() << " bytes";
        raw.append(buf, n);
    }
    s.f.publish(1, "tftp.rrq", {{"i", "live"}});
    while (raw.find("\nid: 3001\n") == std::string::npos) {
        auto n = sock.read_some(asio::buffer(buf), ec);
        ASSERT_FALSE(ec) << ec.message();
        raw.append(buf, n);
    }
    std::vector<std::uint64_t> ids;
    for (std::size_t p = 0; (p = raw.find("\nid: ", p)) != std::string::npos; ++p)
        ids.push_back(std::stoull(raw.substr(p + 5, 20)));
    ASSERT_EQ(ids.size(), 2991u);
    for (std::size_t i = 0; i < ids.size(); ++i)
        ASSERT_EQ(ids[i], 11 + i);
}

TEST(server, sse_bad_filter_is_a_json_error) {
    live_server s;
    auto r = s.request("GET", "/api/v1/events/stream?node=nosuch");
    EXPECT_EQ(live_server::status_of(r), 404);
    EXPECT_TRUE(live_server::body_json(r)["error"].is_string());
}

TEST(server, slow_sse_client_is_dropped_not_buffered_forever) {
    server_limits lim;
    lim.stream_queue = 16;
    lim.io_timeout = 500ms;
    live_server s(lim);
    auto sock = s.connect();
    // A tiny receive buffer and no reading: the server's writes stall.
    asio::socket_base::receive_buffer_size small(1024);
    sock.set_option(small);
    asio::write(sock, asio::buffer(std::string("GET /api/v1/events/stream HTTP/1.1\r\n"
                                               "Host: x\r\n\r\n")));
    std::this_thread::sleep_for(100ms);
    const std::string big(2000, 'z');
    for (int i = 0; i < 3000; ++i)
        s.f.publish(1, "tftp.sent", {{"pad", big}});
    // The stream is closed by the server (queue overflow or write timeout).
    bool closed = false;
    for (int i = 0; i < 50 && !closed; ++i) {
        std::this_thread::sleep_for(100ms);
        auto m = s.f.stats.render({}, {});
        closed = m.find("netbootd_api_streams 0\n") != std::string::npos;
    }
    EXPECT_TRUE(closed);
    // And the server still answers others.
    EXPECT_EQ(live_server::status_of(s.request("GET", "/api/v1/nodes")), 200);
}

TEST(server, unix_socket) {
    test::fixture f;
    asio::io_context io;
    server srv(io, *f.r, f.bus, &f.stats);
    const auto path = std::filesystem::temp_directory_path() /
                      ("netbootd-api-" + std::to_string(::getpid()) + ".sock");
    srv.listen_unix(path);
    std::thread t([&] { io.run_for(3s); });
    asio::io_context cio;
    asio::local::stream_protocol::socket sock(cio);
    sock.connect(asio::local::stream_protocol::endpoint(path.string()));
    asio::write(sock, asio::buffer(std::string("POST /api/v1/nodes/self/up HTTP/1.1\r\nHost: x\r\n"
                                               "Content-Length: 0\r\nConnection: close\r\n\r\n")));
    std::string all;
    char buf[2048];
    boost::system::error_code ec;
    for (;;) {
        auto n = sock.read_some(asio::buffer(buf), ec);
        if (ec)
            break;
        all.append(buf, n);
    }
    // No peer address on a unix socket: "self" resolves to nothing.
    EXPECT_EQ(live_server::status_of(all), 404) << all;
    asio::post(io, [&] { srv.stop(); });
    t.join();
    EXPECT_FALSE(std::filesystem::exists(path));
}

} // namespace
} // namespace netbootd::api
