// `netbootctl power ...` parsed and run against a cluster file whose relays are a fake relay
// program (real processes, state in a temp dir).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "netbootd/cli/common.hpp"
#include "netbootd/cli/power_cmd.hpp"

namespace netbootd::cli {
namespace {

namespace fs = std::filesystem;

class power_cli : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "netbootd-powercli-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        const auto relay = std::string(NETBOOTD_TEST_DATA) + "/power/fake-relay";
        config_ = (dir_ / "cluster.yaml").string();
        std::ofstream(config_) << fmt::format(R"(cluster:
  interface: eth0
  server_ip: 10.42.0.250
  subnet: 10.42.0.0/24
power:
  drivers:
    relays:
      type: command
      on: ["{0}", "{1}", "on", "{{channel}}"]
      off: ["{0}", "{1}", "off", "{{channel}}"]
      status: ["{0}", "{1}", "get", "{{channel}}"]
      cycle_delay: 10ms
    dead:
      type: command
      on: ["sh", "-c", "echo relay board 9 not found >&2; exit 3"]
      off: ["false"]
  sequence: {{ stagger: 20ms, max_parallel: 2 }}
defaults:
  ip: "10.42.0.{{position}}"
  power: {{ driver: relays, channel: "{{position}}" }}
nodes:
  - {{ position: 1, mac: "b8:27:eb:00:00:01" }}
  - {{ position: 2, mac: "b8:27:eb:00:00:02" }}
  - {{ position: 3, mac: "b8:27:eb:00:00:03" }}
  - {{ position: 9, mac: "b8:27:eb:00:00:09", power: {{ driver: dead, channel: "9" }} }}
)",
                                              relay, dir_.string());
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Runs `netbootctl <args>`; returns the exit code and stdout.
    std::pair<int, std::string> run(std::vector<std::string> args, power_cli_hooks hooks = {}) {
        CLI::App app{"netbootctl"};
        app.require_subcommand(1);
        add_power_commands(app, std::move(hooks));
        std::vector<std::string> argv = {"netbootctl"};
        argv.insert(argv.end(), args.begin(), args.end());
        std::vector<const char*> cargv;
        for (const auto& a : argv)
            cargv.push_back(a.c_str());
        ::testing::internal::CaptureStdout();
        int code = 0;
        try {
            app.parse(static_cast<int>(cargv.size()), cargv.data());
        } catch (const CLI::ParseError& e) {
            code = e.get_exit_code() == 0 ? 0 : 100;
        } catch (const exit_code& e) {
            code = e.code;
        }
        return {code, ::testing::internal::GetCapturedStdout()};
    }

    std::string relay_state(int channel) const {
        std::ifstream in(dir_ / fmt::format("relay-{}", channel));
        std::string s;
        in >> s;
        return s.empty() ? "never" : s;
    }

    fs::path dir_;
    std::string config_;
};

TEST_F(power_cli, on_switches_the_range_in_position_order) {
    auto [code, out] = run({"power", "on", "3,1-2", "-c", config_});
    EXPECT_EQ(code, 0) << out;
    EXPECT_EQ(relay_state(1), "on");
    EXPECT_EQ(relay_state(2), "on");
    EXPECT_EQ(relay_state(3), "on");
    EXPECT_EQ(out, "on 3 nodes in position order (stagger 20ms, max 2 booting)\n"
                   "   1  node01        on      ok\n"
                   "   2  node02        on      ok\n"
                   "   3  node03        on      ok\n"
                   "3 ok, 0 failed, 0 timed out\n");
}

TEST_F(power_cli, status_reads_back_what_on_and_off_did) {
    ASSERT_EQ(run({"power", "on", "1-2", "-c", config_}).first, 0);
    ASSERT_EQ(run({"power", "off", "2", "-c", config_}).first, 0);
    auto [code, out] = run({"power", "status", "1-3", "-c", config_});
    EXPECT_EQ(code, 0) << out;
    EXPECT_EQ(out, "   1  node01        status  on\n"
                   "   2  node02        status  off\n"
                   "   3  node03        status  off\n"
                   "3 ok, 0 failed, 0 timed out\n");
}

TEST_F(power_cli, all_requires_the_all_flag) {
    auto [code, out] = run({"power", "on", "all", "-c", config_});
    EXPECT_EQ(code, 2);
    EXPECT_EQ(relay_state(1), "never");
    auto [code2, out2] = run({"power", "off", "all", "--all", "-c", config_});
    EXPECT_EQ(code2, 1) << out2; // node 9's relay board is dead
    EXPECT_EQ(relay_state(1), "off");
    EXPECT_EQ(relay_state(3), "off");
}

TEST_F(power_cli, a_failing_node_is_reported_and_the_rest_continue) {
    auto [code, out] = run({"power", "on", "1-3,9", "--stagger", "0s", "-c", config_});
    EXPECT_EQ(code, 1);
    EXPECT_EQ(relay_state(3), "on");
    EXPECT_NE(
        out.find(
            "   9  node09        on      FAILED  sh: exit status 3: relay board 9 not found\n"),
        std::string::npos)
        << out;
    EXPECT_NE(out.find("3 ok, 1 failed, 0 timed out"), std::string::npos) << out;
}

TEST_F(power_cli, dry_run_prints_the_exact_commands_and_switches_nothing) {
    auto [code, out] = run({"power", "cycle", "2", "--dry-run", "-c", config_});
    EXPECT_EQ(code, 0) << out;
    const auto relay = std::string(NETBOOTD_TEST_DATA) + "/power/fake-relay";
    EXPECT_EQ(out, fmt::format("   2  node02        cycle   would run:\n"
                               "        {0} {1} off 2\n"
                               "        sleep 10ms\n"
                               "        {0} {1} on 2\n",
                               relay, dir_.string()));
    EXPECT_EQ(relay_state(2), "never");
}

TEST_F(power_cli, wait_for_without_a_daemon_is_refused) {
    auto [code, out] = run({"power", "on", "1", "--wait-for", "dhcp", "-c", config_});
    EXPECT_EQ(code, 2);
    EXPECT_EQ(relay_state(1), "never");
}

TEST_F(power_cli, range_that_matches_nothing_is_a_usage_error) {
    EXPECT_EQ(run({"power", "on", "node77", "-c", config_}).first, 2);
}

TEST_F(power_cli, bad_duration_is_a_parse_error) {
    EXPECT_EQ(run({"power", "on", "1", "--stagger", "soon", "-c", config_}).first, 100);
}

TEST_F(power_cli, daemon_hook_takes_the_command_when_it_answers) {
    power_command seen;
    power_cli_hooks hooks;
    hooks.via_daemon = [&](const power_command& c) -> std::optional<int> {
        seen = c;
        return 0;
    };
    auto [code, out] = run({"power", "on", "1-3", "--stagger", "5s", "--max-parallel", "3",
                            "--wait-for", "up", "--timeout", "90s", "-c", "/nonexistent.yaml"},
                           hooks);
    EXPECT_EQ(code, 0);
    EXPECT_EQ(seen.action, power::power_action::on);
    EXPECT_EQ(seen.range, "1-3");
    EXPECT_EQ(seen.options.stagger, std::chrono::seconds(5));
    EXPECT_EQ(seen.options.max_parallel, 3);
    EXPECT_EQ(seen.options.wait_for, power::wait_point::up);
    EXPECT_EQ(seen.options.timeout, std::chrono::seconds(90));
    EXPECT_TRUE(seen.stagger_set);
    EXPECT_EQ(relay_state(1), "never");
}

TEST_F(power_cli, falls_back_to_the_config_when_no_daemon_answers) {
    power_cli_hooks hooks;
    hooks.via_daemon = [](const power_command&) -> std::optional<int> { return std::nullopt; };
    auto [code, out] = run({"power", "on", "2", "-c", config_}, hooks);
    EXPECT_EQ(code, 0) << out;
    EXPECT_EQ(relay_state(2), "on");
}

TEST_F(power_cli, enroll_without_a_daemon_is_refused) {
    EXPECT_EQ(run({"enroll", "1-2", "-c", config_}).first, 2);
    EXPECT_EQ(relay_state(1), "never");
}

TEST_F(power_cli, enroll_binds_the_board_of_the_powered_slot) {
    // The "daemon" reports the board of whichever relay is on (slot 12 is empty; 11-13 are not in
    // the config, so their power binding comes from defaults).
    power_cli_hooks hooks;
    hooks.unknown_clients = [this](const std::string&) -> power::unknown_client_source {
        return [this](power::steady_time deadline) -> std::optional<power::unknown_client> {
            if (relay_state(11) == "on")
                return power::unknown_client{*mac_address::parse("dc:a6:32:00:00:01"), 0x27e247cc};
            if (relay_state(13) == "on")
                return power::unknown_client{*mac_address::parse("dc:a6:32:00:00:03"),
                                             std::nullopt};
            std::this_thread::sleep_until(deadline);
            return std::nullopt;
        };
    };
    const auto file = (dir_ / "enrolled-nodes.yaml").string();
    auto [code, out] = run({"enroll", "11-13", "--timeout", "200ms", "-c", config_}, hooks);
    EXPECT_EQ(code, 1) << out; // slot 2 stayed empty
    EXPECT_NE(out.find("  11  bound             dc:a6:32:00:00:01  serial 27e247cc\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("  12  nothing appeared  no unknown board asked within 200 ms\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("2 bound, 1 empty, 0 failed"), std::string::npos) << out;
    std::ifstream in(file);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_NE(
        ss.str().find("  - { position: 11, mac: \"dc:a6:32:00:00:01\", serial: \"27e247cc\" }\n"
                      "  - { position: 13, mac: \"dc:a6:32:00:00:03\" }\n"),
        std::string::npos)
        << ss.str();
    // Every slot was switched off again.
    EXPECT_EQ(relay_state(11), "off");
    EXPECT_EQ(relay_state(12), "off");
    EXPECT_EQ(relay_state(13), "off");
    EXPECT_EQ(relay_state(1), "never") << "slots outside the range are left alone";
}

} // namespace
} // namespace netbootd::cli
