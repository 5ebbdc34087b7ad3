// The node agent (agents/netbootd-agent, POSIX sh) against the real API server on loopback:
// with curl, and with busybox wget alone as on a minimal Pi image. Node addresses are 127.0.0.x
// so the agent can send from "its own" address (all of 127/8 is local).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netbootd/api/server.hpp"

namespace netbootd::api {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct agent_lab {
    registry_holder reg{std::make_shared<const registry>(parse_config(R"(
cluster:
  interface: lo
  server_ip: 127.0.0.5
  subnet: 127.0.0.0/24
defaults:
  hostname: "node{position:02}"
nodes:
  - {position: 1, mac: "dc:a6:32:00:00:01", ip: 127.0.0.2}
  - {position: 2, mac: "dc:a6:32:00:00:02", ip: 127.0.0.1}
  - {position: 3, mac: "dc:a6:32:00:00:03", ip: 127.0.0.3}
)",
                                                                      "agent.yaml"))};
    event_bus bus;
    diag::tracker tracker{bus, reg};
    metrics stats{bus};
    std::unique_ptr<router> r;
    boost::asio::io_context io;
    std::unique_ptr<server> srv;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
    std::thread t;
    std::string port;
    fs::path tmp;

    agent_lab() {
        router_deps d{reg,     bus,
                      tracker, nullptr,
                      &stats,  authenticator(std::nullopt),
                      {},      [] { return std::chrono::system_clock::now(); },
                      {}};
        r = std::make_unique<router>(std::move(d));
        srv = std::make_unique<server>(io, *r, bus, &stats);
        srv->listen_tcp("127.0.0.1:0");
        port = std::to_string(srv->tcp_endpoint().port());
        work.emplace(io.get_executor());
        t = std::thread([this] { io.run(); });
        tmp = fs::temp_directory_path() / ("netbootd-agent-test-" + std::to_string(::getpid()));
        fs::create_directories(tmp);
    }
    ~agent_lab() {
        boost::asio::post(io, [this] { srv->stop(); });
        work.reset();
        std::this_thread::sleep_for(50ms);
        io.stop();
        t.join();
        fs::remove_all(tmp);
    }
    int run_agent(const std::string& env) {
        const std::string cmd = "env -i " + env + " NETBOOTD_ATTEMPTS=1 /bin/sh " +
                                std::string(NETBOOTD_SOURCE_DIR) + "/agents/netbootd-agent";
        const int rc = std::system(cmd.c_str());
        return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    }
};

TEST(agent, reports_up_with_curl_from_its_own_address) {
    agent_lab lab;
    ASSERT_EQ(lab.run_agent("PATH=/usr/bin:/bin NETBOOTD_URL=http://127.0.0.1:" + lab.port +
                            " NETBOOTD_SOURCE_IP=127.0.0.2"),
              0);
    auto st = lab.tracker.state(1);
    EXPECT_EQ(st.current, diag::stage::up);
    auto ups = lab.bus.recent({std::nullopt, "agent.up", 0}, 10);
    ASSERT_EQ(ups.size(), 1u);
    EXPECT_EQ(ups[0].position, 1);
    EXPECT_EQ(ups[0].ip->to_string(), "127.0.0.2");
    EXPECT_TRUE(ups[0].fields["kernel"].is_string());
    EXPECT_FALSE(ups[0].fields["kernel"].get<std::string>().empty());
    EXPECT_TRUE(ups[0].fields["uptime"].is_number());
    EXPECT_EQ(lab.tracker.state(2).current, diag::stage::off);
}

TEST(agent, report_for_another_node_is_refused) {
    agent_lab lab;
    EXPECT_EQ(lab.run_agent("PATH=/usr/bin:/bin NETBOOTD_URL=http://127.0.0.1:" + lab.port +
                            " NETBOOTD_SOURCE_IP=127.0.0.3 NETBOOTD_NODE=1"),
              1);
    EXPECT_EQ(lab.tracker.state(1).current, diag::stage::off);
    EXPECT_EQ(lab.bus.recent({std::nullopt, "api.auth_failed", 0}, 10).size(), 1u);
}

TEST(agent, busybox_wget_and_server_from_the_kernel_cmdline) {
    agent_lab lab;
    // A PATH with busybox applets only: no curl, as on a minimal image. busybox wget cannot
    // pick a source address, so this node is the one at 127.0.0.1 (loopback's default source).
    const auto bin = lab.tmp / "bin";
    fs::create_directories(bin);
    for (auto applet : {"sh", "cat", "tr", "cut", "uname", "hostname", "sleep", "wget", "env"})
        fs::create_symlink("/usr/bin/busybox", bin / applet);
    const auto cmdline = lab.tmp / "cmdline";
    std::ofstream(cmdline) << "console=serial0,115200 root=/dev/nfs "
                              "nfsroot=127.0.0.1:/srv/netbootd/roots/node02,vers=3 rw ip=dhcp\n";
    ASSERT_EQ(lab.run_agent("PATH=" + bin.string() + " NETBOOTD_PORT=" + lab.port +
                            " NETBOOTD_CMDLINE=" + cmdline.string()),
              0);
    EXPECT_EQ(lab.tracker.state(2).current, diag::stage::up);
}

TEST(agent, no_server_address_exits_2) {
    agent_lab lab;
    const auto cmdline = lab.tmp / "cmdline";
    std::ofstream(cmdline) << "root=/dev/mmcblk0p2\n";
    EXPECT_EQ(lab.run_agent("PATH=/usr/bin:/bin NETBOOTD_CMDLINE=" + cmdline.string()), 2);
}

} // namespace
} // namespace netbootd::api
