#include "netbootd/diag/stage.hpp"

#include <gtest/gtest.h>

#include "scenario.hpp"

namespace netbootd::diag {
namespace {

using test::scenario;
using test::t0;

TEST(stage, names_round_trip) {
    for (auto s : {stage::off, stage::powered, stage::dhcp, stage::firmware, stage::kernel,
                   stage::nfs_root, stage::up})
        EXPECT_EQ(parse_stage(to_string(s)), s);
    EXPECT_EQ(to_string(stage::nfs_root), "nfs-root");
    EXPECT_FALSE(parse_stage("bogus"));
}

TEST(stage, file_classes) {
    EXPECT_TRUE(is_firmware_file("a2ef5644/start4.elf"));
    EXPECT_TRUE(is_firmware_file("fixup4.dat"));
    EXPECT_TRUE(is_firmware_file("bootcode.bin"));
    EXPECT_FALSE(is_firmware_file("kernel8.img"));
    for (auto k : {"kernel.img", "kernel7.img", "kernel7l.img", "kernel8.img", "kernel_2712.img",
                   "da591740/kernel_2712.img"})
        EXPECT_TRUE(is_kernel_file(k)) << k;
    EXPECT_FALSE(is_kernel_file("cmdline.txt"));
}

TEST(stage, full_pi4_boot_walks_every_stage) {
    scenario sc;
    sc.add(0, "power.on");
    EXPECT_EQ(sc.state().current, stage::powered);
    EXPECT_EQ(sc.state().power, "on");
    sc.dora(5, "pi4");
    EXPECT_EQ(sc.state().current, stage::dhcp);
    ASSERT_TRUE(sc.state().ip);
    EXPECT_EQ(sc.state().ip->to_string(), "10.42.0.11");
    EXPECT_EQ(sc.state().lease_seconds, 3600);
    sc.missing(6, "a2ef5644/start4.elf", true).sent(7, "start4.elf", 2'000'000);
    EXPECT_EQ(sc.state().current, stage::firmware);
    EXPECT_TRUE(sc.state().firmware_sent);
    sc.sent(9, "kernel8.img", 8'000'000);
    EXPECT_EQ(sc.state().current, stage::kernel);
    EXPECT_EQ(sc.state().bytes_sent, 10'000'000u);
    sc.dora(15, "kernel");
    EXPECT_EQ(sc.state().current, stage::kernel);
    sc.add(18, "nfs.mount", {{"path", "/srv/roots/node01"}});
    EXPECT_EQ(sc.state().current, stage::nfs_root);
    sc.add(40, "agent.up", {{"hostname", "node01"}, {"kernel", "6.1.0"}});
    auto s = sc.state();
    EXPECT_EQ(s.current, stage::up);
    EXPECT_EQ(s.since, t0 + std::chrono::seconds(40));
    EXPECT_EQ(s.agent_hostname, "node01");
    EXPECT_EQ(s.agent_kernel, "6.1.0");
}

TEST(stage, kernel_dhcp_alone_marks_kernel) {
    scenario sc;
    sc.dora(1, "kernel");
    EXPECT_EQ(sc.state().current, stage::kernel);
}

TEST(stage, pi3_bootcode_dhcp_does_not_restart_the_cycle) {
    scenario sc;
    sc.dora(0, "pi3-rom", false).sent(1, "bootcode.bin");
    EXPECT_EQ(sc.state().current, stage::firmware);
    sc.dora(2, "pi3-bootcode", false);
    EXPECT_EQ(sc.state().current, stage::firmware);
    EXPECT_EQ(sc.state().cycles, 0);
    EXPECT_EQ(sc.state().discovers, 2);
}

TEST(stage, bootloader_discover_after_progress_starts_new_cycle) {
    scenario sc;
    sc.dora(0, "pi4").sent(1, "start4.elf").sent(2, "kernel8.img");
    EXPECT_EQ(sc.state().current, stage::kernel);
    sc.dora(100, "pi4");
    auto s = sc.state();
    EXPECT_EQ(s.current, stage::dhcp);
    EXPECT_EQ(s.cycles, 1);
    EXPECT_EQ(s.files_sent, 0);
    EXPECT_FALSE(s.kernel_sent);
    EXPECT_EQ(s.ip->to_string(), "10.42.0.11"); // the address survives the reboot
}

TEST(stage, power_off_and_failure) {
    scenario sc;
    sc.add(0, "power.on").dora(1, "pi4").add(2, "power.off");
    EXPECT_EQ(sc.state().current, stage::off);
    EXPECT_EQ(sc.state().power, "off");
    sc.add(3, "power.failed", {{"error", "timeout"}});
    EXPECT_EQ(sc.state().current, stage::off);
    EXPECT_EQ(sc.state().power, "failed");
}

TEST(stage, unknown_kinds_are_harmless) {
    scenario sc;
    sc.dora(0, "pi4");
    auto before = sc.state();
    sc.add(1, "something.new", {{"x", 1}}).add(2, "dhcp.weird", {{"stage", 42}});
    auto after = sc.state();
    EXPECT_EQ(after.current, before.current);
    EXPECT_EQ(after.last_event_kind, "dhcp.weird");
    EXPECT_EQ(after.discovers, before.discovers);
}

TEST(stage, malformed_fields_do_not_throw) {
    scenario sc;
    sc.add(0, "dhcp.offer", nlohmann::json::array({1, 2}));
    sc.add(1, "tftp.sent", {{"file", 5}, {"bytes", "many"}});
    sc.add(2, "agent.up", {{"hostname", nullptr}});
    EXPECT_NO_THROW((void)sc.state());
    EXPECT_EQ(sc.state().current, stage::up);
}

TEST(stage, stage_never_goes_backwards_within_a_cycle) {
    scenario sc;
    sc.sent(0, "kernel8.img");
    sc.add(1, "dhcp.request", {{"stage", "pi3-bootcode"}});
    sc.add(2, "tftp.rrq", {{"file", "config.txt"}});
    EXPECT_EQ(sc.state().current, stage::kernel);
}

} // namespace
} // namespace netbootd::diag

namespace netbootd::diag {
namespace {

// The DHCP module's field is `class` (values as in docs/events.md), power.cycle starts a cycle.
TEST(stage, dhcp_module_field_names) {
    test::scenario sc;
    sc.add(0, "dhcp.discover", {{"class", "pi3b-rom"}});
    sc.add(0.1, "dhcp.offer", {{"class", "pi3b-rom"}});
    EXPECT_EQ(sc.state().dhcp_client, "pi3b-rom");
    sc.sent(1, "bootcode.bin");
    sc.add(5, "dhcp.discover", {{"class", "pi3b-rom"}});
    EXPECT_EQ(sc.state().current, stage::dhcp); // the ROM starting over is a new cycle
    sc.add(6, "dhcp.discover", {{"class", "kernel"}});
    EXPECT_EQ(sc.state().current, stage::kernel);
    const int cycles = sc.state().cycles;
    sc.add(7, "power.cycle");
    EXPECT_EQ(sc.state().current, stage::powered);
    EXPECT_EQ(sc.state().cycles, cycles + 1);
}

} // namespace
} // namespace netbootd::diag
