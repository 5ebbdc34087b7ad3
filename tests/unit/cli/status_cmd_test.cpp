// netbootctl status / logs / diagnose against a real API server on loopback.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "netbootd/cli/status_cmd.hpp"

#include <sstream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "netbootd/api/server.hpp"
#include "netbootd/cli/api_client.hpp"

namespace netbootd::cli {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

registry_ptr lab() {
    auto cfg = parse_config(R"(
cluster:
  name: lab
  interface: eth0
  server_ip: 10.42.0.1
  subnet: 10.42.0.0/24
defaults:
  ip: "10.42.0.1{position:02}"
  hostname: "node{position:02}"
nodes:
  - {position: 1, mac: "b8:27:eb:00:00:01"}
  - {position: 2, mac: "dc:a6:32:00:00:02"}
  - {position: 3, mac: "dc:a6:32:00:00:03"}
  - {position: 4, mac: "dc:a6:32:00:00:04"}
)",
                            "lab.yaml");
    return std::make_shared<const registry>(std::move(cfg));
}

struct live {
    registry_holder reg{lab()};
    event_bus bus;
    diag::tracker tracker{bus, reg};
    api::metrics stats{bus};
    std::unique_ptr<api::router> r;
    boost::asio::io_context io;
    std::unique_ptr<api::server> srv;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
    std::thread t;
    std::string url;

    live() {
        api::router_deps d{reg,     bus,
                           tracker, nullptr,
                           &stats,  api::authenticator(std::nullopt),
                           {},      [] { return std::chrono::system_clock::now(); },
                           {}};
        r = std::make_unique<api::router>(std::move(d));
        srv = std::make_unique<api::server>(io, *r, bus, &stats);
        srv->listen_tcp("127.0.0.1:0");
        url = "http://127.0.0.1:" + std::to_string(srv->tcp_endpoint().port());
        work.emplace(io.get_executor());
        t = std::thread([this] { io.run(); });
    }
    ~live() {
        boost::asio::post(io, [this] { srv->stop(); });
        work.reset();
        std::this_thread::sleep_for(50ms);
        io.stop();
        t.join();
    }
    void publish(int pos, std::string kind, json fields = json::object()) {
        event e;
        e.position = pos;
        e.kind = std::move(kind);
        e.fields = std::move(fields);
        bus.publish(e);
    }
    int run(std::vector<std::string> args, std::string& out) {
        CLI::App app("netbootctl");
        app.require_subcommand(1);
        std::ostringstream os;
        add_diag_commands(app, os);
        std::vector<std::string> argv = {"netbootctl"};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.push_back("--api");
        argv.push_back(url);
        std::vector<char*> cargv;
        for (auto& a : argv)
            cargv.push_back(a.data());
        int rc = 0;
        try {
            app.parse(static_cast<int>(cargv.size()), cargv.data());
        } catch (const CLI::ParseError& e) {
            rc = e.get_exit_code();
        }
        out = os.str();
        return rc;
    }
};

TEST(api_url, parse) {
    auto a = parse_api_url("http://127.0.0.1:8067/");
    ASSERT_TRUE(a);
    EXPECT_FALSE(a->is_unix);
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, "8067");
    auto b = parse_api_url("unix:/run/netbootd/api.sock");
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->is_unix);
    EXPECT_EQ(b->socket_path, "/run/netbootd/api.sock");
    EXPECT_EQ(parse_api_url("localhost")->port, "8067");
    EXPECT_EQ(parse_api_url("[::1]:9000")->host, "::1");
    EXPECT_FALSE(parse_api_url("http://h:80/x"));
    EXPECT_FALSE(parse_api_url("h:port"));
    EXPECT_EQ(url_encode("node[01-04] a/b"), "node%5B01-04%5D%20a%2Fb");
}

TEST(status, grid_without_colour_marks_stage_and_problem) {
    json nodes = json::array();
    for (int p = 1; p <= 12; ++p)
        nodes.push_back(json{{"position", p},
                             {"hostname", fmt::format("node{:02}", p)},
                             {"state", {{"stage", p <= 3 ? "up" : "off"}}},
                             {"problem", p == 5 ? "powered_silent" : "ok"},
                             {"summary", p == 5 ? "powered on but silent" : "up"}});
    auto g = render_grid(nodes, false, 10);
    EXPECT_NE(g.find("[ 1 u]"), std::string::npos) << g;
    EXPECT_NE(g.find("[ 5!o]"), std::string::npos) << g;
    EXPECT_NE(g.find("up=3"), std::string::npos) << g;
    EXPECT_NE(g.find("off=9"), std::string::npos) << g;
    EXPECT_NE(g.find("problem=1"), std::string::npos) << g;
    EXPECT_NE(g.find("node05"), std::string::npos) << g;
    // 12 positions in rows of 10: the 11th starts a second row.
    EXPECT_LT(g.find('\n'), g.find("[11"));
    auto c = render_grid(nodes, true, 10);
    EXPECT_NE(c.find("\x1b[30;42m  1 \x1b[0m"), std::string::npos);
    EXPECT_NE(c.find("\x1b[97;41m  5 \x1b[0m"), std::string::npos);
}

TEST(status, against_live_api) {
    live l;
    l.publish(2, "dhcp.discover", {{"stage", "pi4"}});
    l.publish(3, "agent.up", {{"hostname", "node03"}});
    std::string out;
    ASSERT_EQ(l.run({"status"}, out), 0) << out;
    EXPECT_NE(out.find("[ 2 d]"), std::string::npos) << out;
    EXPECT_NE(out.find("[ 3 u]"), std::string::npos) << out;
    EXPECT_NE(out.find("dhcp=1"), std::string::npos) << out;
    ASSERT_EQ(l.run({"status", "2-3", "--table"}, out), 0);
    EXPECT_NE(out.find("node02"), std::string::npos) << out;
    EXPECT_NE(out.find("dhcp.discover"), std::string::npos) << out;
    EXPECT_EQ(out.find("node04"), std::string::npos) << out;
    ASSERT_EQ(l.run({"status", "--json", "3"}, out), 0);
    auto j = json::parse(out);
    ASSERT_EQ(j.size(), 1u);
    EXPECT_EQ(j[0]["state"]["stage"], "up");
    EXPECT_EQ(l.run({"status", "99"}, out), 1);
}

TEST(logs, history_filters_and_follow) {
    live l;
    l.publish(1, "tftp.sent", {{"file", "bootcode.bin"}});
    l.publish(2, "tftp.sent", {{"file", "start4.elf"}});
    l.publish(2, "dhcp.discover");
    std::string out;
    ASSERT_EQ(l.run({"logs", "--node", "node02", "--kind", "tftp."}, out), 0);
    EXPECT_NE(out.find("tftp.sent"), std::string::npos) << out;
    EXPECT_NE(out.find("node02"), std::string::npos) << out;
    EXPECT_NE(out.find("file=start4.elf"), std::string::npos) << out;
    EXPECT_EQ(out.find("bootcode.bin"), std::string::npos) << out;
    EXPECT_EQ(out.find("dhcp.discover"), std::string::npos) << out;

    // --follow: events published after the history arrive, filtered.
    std::thread pub([&] {
        std::this_thread::sleep_for(300ms);
        l.publish(1, "tftp.sent", {{"file", "other-node"}});
        l.publish(2, "tftp.rrq", {{"file", "live1"}});
        l.publish(2, "tftp.sent", {{"file", "live2"}});
    });
    ASSERT_EQ(l.run({"logs", "-f", "-n", "2", "--max-events", "2", "--json"}, out), 0);
    pub.join();
    std::istringstream in(out);
    std::vector<json> lines;
    for (std::string s; std::getline(in, s);)
        lines.push_back(json::parse(s));
    ASSERT_EQ(lines.size(), 4u) << out; // 2 history + 2 live
    EXPECT_EQ(lines[2]["fields"]["file"], "live1");
    EXPECT_EQ(lines[3]["fields"]["file"], "live2");
}

TEST(diagnose, explains_and_exits_2_on_a_problem) {
    live l;
    l.publish(4, "dhcp.discover", {{"stage", "pi4"}});
    l.publish(4, "tftp.rrq", {{"file", "start4.elf"}});
    l.publish(4, "tftp.not_found", {{"file", "start4.elf"}, {"expected", false}});
    std::string out;
    EXPECT_EQ(l.run({"diagnose", "node04"}, out), 2);
    EXPECT_NE(out.find("firmware_missing"), std::string::npos) << out;
    EXPECT_NE(out.find("What to check"), std::string::npos) << out;
    EXPECT_NE(out.find("tftp.not_found"), std::string::npos) << out;
    EXPECT_EQ(l.run({"diagnose", "1"}, out), 0);
    EXPECT_NE(out.find("status:  off"), std::string::npos) << out;
    EXPECT_EQ(l.run({"diagnose", "nosuch"}, out), 1);
}

TEST(api_client, unreachable_api_is_a_clear_error) {
    api_client c(*parse_api_url("127.0.0.1:1"));
    try {
        (void)c.get("/api/v1/nodes");
        FAIL() << "expected an exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("127.0.0.1:1"), std::string::npos);
    }
}

} // namespace
} // namespace netbootd::cli
