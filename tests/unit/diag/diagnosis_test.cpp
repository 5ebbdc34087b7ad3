// Every diagnosis rule, each from a recorded event sequence of the failure it names, plus the
// healthy sequences that must not trigger it.
#include "netbootd/diag/diagnosis.hpp"

#include <gtest/gtest.h>

#include "scenario.hpp"

namespace netbootd::diag {
namespace {

using test::scenario;

TEST(diagnosis, up_is_ok) {
    scenario sc;
    sc.add(0, "power.on").dora(3, "pi4").sent(4, "start4.elf").sent(6, "kernel8.img");
    sc.dora(10, "kernel").add(12, "nfs.mount").add(30, "agent.up", {{"hostname", "node01"}});
    auto d = sc.diag(1000);
    EXPECT_EQ(d.problem, "ok");
    EXPECT_EQ(d.reached, stage::up);
    EXPECT_FALSE(d.is_problem());
}

TEST(diagnosis, no_events_is_off) {
    scenario sc;
    auto d = sc.diag(10);
    EXPECT_EQ(d.problem, "off");
    EXPECT_EQ(d.reached, stage::off);
}

TEST(diagnosis, powered_but_silent) {
    scenario sc;
    sc.add(0, "power.on");
    EXPECT_EQ(sc.diag(10).problem, "booting");
    auto d = sc.diag(120);
    EXPECT_EQ(d.problem, "powered_silent");
    EXPECT_EQ(d.reached, stage::powered);
    const auto all = d.explanation + [&] {
        std::string h;
        for (auto& x : d.hints)
            h += x;
        return h;
    }();
    EXPECT_NE(all.find("BOOT_ORDER"), std::string::npos);
    EXPECT_NE(all.find("SD card"), std::string::npos);
}

TEST(diagnosis, power_failed) {
    scenario sc;
    sc.add(0, "power.failed", {{"error", "relay unreachable"}});
    auto d = sc.diag(5);
    EXPECT_EQ(d.problem, "power_failed");
    EXPECT_NE(d.explanation.find("relay unreachable"), std::string::npos);
    EXPECT_EQ(d.evidence, std::vector<std::uint64_t>{1});
}

TEST(diagnosis, pi4_discovers_without_request_is_portfast) {
    scenario sc;
    sc.add(0, "power.on");
    for (int i = 0; i < 6; ++i)
        sc.dora(5 + 4 * i, "pi4", false);
    EXPECT_EQ(sc.diag(30).problem, "booting"); // last OFFER 5 s ago: still in time
    auto d = sc.diag(60);
    EXPECT_EQ(d.problem, "dhcp_no_request");
    EXPECT_EQ(d.reached, stage::dhcp);
    std::string hints;
    for (auto& h : d.hints)
        hints += h;
    EXPECT_NE(hints.find("portfast"), std::string::npos);
}

TEST(diagnosis, offer_accepted_but_no_tftp_is_wrong_tftp_address) {
    scenario sc;
    sc.dora(0, "pi4"); // REQUEST + ACK, then nothing
    auto d = sc.diag(60);
    EXPECT_EQ(d.problem, "dhcp_no_tftp");
    EXPECT_NE(d.explanation.find("10.42.0.11"), std::string::npos);
    // Pi 3 ROM never sends a REQUEST: the OFFER alone counts as accepted.
    scenario pi3;
    pi3.dora(0, "pi3-rom", false);
    EXPECT_EQ(pi3.diag(60).problem, "dhcp_no_tftp");
}

TEST(diagnosis, discovers_without_offer) {
    scenario sc;
    sc.add(0, "dhcp.discover", {{"stage", "pi4"}}).add(4, "dhcp.discover", {{"stage", "pi4"}});
    EXPECT_EQ(sc.diag(60).problem, "dhcp_no_offer");
    sc.add(8, "dhcp.drop", {{"reason", "unknown_client"}, {"stage", "pi4"}});
    auto d = sc.diag(60);
    EXPECT_EQ(d.problem, "dhcp_dropped");
    EXPECT_NE(d.summary.find("unknown_client"), std::string::npos);
}

TEST(diagnosis, foreign_dhcp_server) {
    scenario sc;
    sc.add(0, "dhcp.discover", {{"stage", "pi4"}});
    sc.add(0.5, "dhcp.foreign_server", {{"server", "10.42.0.254"}});
    auto d = sc.diag(2);
    EXPECT_EQ(d.problem, "foreign_dhcp_server");
    EXPECT_NE(d.summary.find("10.42.0.254"), std::string::npos);
    EXPECT_EQ(d.evidence, std::vector<std::uint64_t>{2});
}

TEST(diagnosis, foreign_server_from_the_dhcp_module) {
    scenario sc;
    sc.add(0, "dhcp.discover", {{"class", "pi4"}});
    sc.add(0.5, "dhcp.foreign_server", {{"server_id", "10.42.0.253"}, {"from", "10.42.0.253"}});
    auto d = sc.diag(2);
    EXPECT_EQ(d.problem, "foreign_dhcp_server");
    EXPECT_NE(d.summary.find("10.42.0.253"), std::string::npos);
}

TEST(diagnosis, foreign_server_before_power_cycle_is_forgotten) {
    scenario sc;
    sc.add(0, "dhcp.foreign_server", {{"server", "10.42.0.254"}});
    sc.add(10, "power.on").dora(12, "pi4");
    EXPECT_EQ(sc.diag(13).problem, "booting");
}

TEST(diagnosis, start4_elf_missing_even_after_retry_loop) {
    scenario sc;
    sc.add(0, "power.on").dora(3, "pi4");
    sc.missing(4, "a2ef5644/start4.elf", true).missing(4.1, "a2ef5644/start.elf", true);
    sc.sent(4.2, "config.txt").missing(4.5, "start4.elf", false);
    auto d = sc.diag(5);
    EXPECT_EQ(d.problem, "firmware_missing");
    EXPECT_NE(d.summary.find("start4.elf"), std::string::npos);
    // The bootloader retries from DHCP: still the same diagnosis.
    const int cycles = sc.state().cycles;
    sc.dora(10, "pi4");
    EXPECT_EQ(sc.state().cycles, cycles + 1);
    EXPECT_EQ(sc.diag(11).problem, "firmware_missing");
}

TEST(diagnosis, pi3_start_elf_missing) {
    scenario sc;
    sc.dora(0, "pi3-rom", false).sent(0.5, "bootcode.bin").missing(0.6, "bootsig.bin", true);
    sc.dora(2, "pi3-bootcode", false).missing(3, "start.elf", false);
    EXPECT_EQ(sc.diag(4).problem, "firmware_missing");
}

TEST(diagnosis, expected_probes_are_not_failures) {
    scenario sc;
    sc.dora(0, "pi4").missing(1, "a2ef5644/start4.elf", true).missing(1.1, "autoboot.txt", true);
    sc.sent(2, "start4.elf").missing(3, "kernel8-32.img", true);
    auto d = sc.diag(4);
    EXPECT_EQ(d.problem, "booting");
    EXPECT_EQ(d.reached, stage::firmware);
}

TEST(diagnosis, missing_file_later_served_is_resolved) {
    scenario sc;
    sc.dora(0, "pi4").missing(1, "start4.elf", false).sent(5, "start4.elf");
    EXPECT_EQ(sc.diag(6).problem, "booting");
}

TEST(diagnosis, kernel_missing) {
    scenario sc;
    sc.dora(0, "pi4").sent(1, "start4.elf").sent(2, "fixup4.dat").missing(3, "kernel8.img", false);
    auto d = sc.diag(4);
    EXPECT_EQ(d.problem, "kernel_missing");
    EXPECT_EQ(d.reached, stage::firmware);
}

TEST(diagnosis, kernel_fallback_is_not_missing) {
    scenario sc;
    sc.dora(0, "pi4").sent(1, "start4.elf").missing(3, "kernel8.img", false);
    sc.sent(4, "kernel7l.img");
    EXPECT_EQ(sc.diag(5).problem, "booting");
    EXPECT_EQ(sc.diag(5).reached, stage::kernel);
}

TEST(diagnosis, tftp_timeout_mid_file) {
    scenario sc;
    sc.dora(0, "pi3-rom", false).sent(0.5, "bootcode.bin").dora(2, "pi3-bootcode", false);
    sc.add(3, "tftp.rrq", {{"file", "start.elf"}});
    sc.add(40, "tftp.timeout", {{"file", "start.elf"}, {"bytes", 1048576}});
    auto d = sc.diag(41);
    EXPECT_EQ(d.problem, "tftp_timeout");
    EXPECT_NE(d.explanation.find("1048576"), std::string::npos);
    // A retry that completes clears it.
    sc.sent(50, "start.elf");
    EXPECT_EQ(sc.diag(51).problem, "booting");
}

TEST(diagnosis, early_terminate_is_harmless) {
    scenario sc;
    sc.dora(0, "pi4").add(1, "tftp.rrq", {{"file", "start4.elf"}});
    sc.add(1.1, "tftp.early_terminate", {{"file", "start4.elf"}}).sent(1.2, "start4.elf");
    EXPECT_EQ(sc.diag(2).problem, "booting");
}

TEST(diagnosis, tftp_error) {
    scenario sc;
    sc.dora(0, "pi4").add(1, "tftp.error", {{"file", "config.txt"}, {"message", "EACCES"}});
    auto d = sc.diag(2);
    EXPECT_EQ(d.problem, "tftp_error");
    EXPECT_NE(d.explanation.find("EACCES"), std::string::npos);
}

TEST(diagnosis, firmware_stalls_with_missing_dtb) {
    scenario sc;
    sc.dora(0, "pi4").sent(1, "start4.elf").missing(2, "bcm2711-rpi-4-b.dtb", false);
    EXPECT_EQ(sc.diag(10).problem, "booting");
    auto d = sc.diag(200);
    EXPECT_EQ(d.problem, "file_missing");
    EXPECT_NE(d.summary.find("bcm2711-rpi-4-b.dtb"), std::string::npos);
    scenario quiet;
    quiet.dora(0, "pi4").sent(1, "start4.elf");
    EXPECT_EQ(quiet.diag(200).problem, "firmware_stalled");
}

TEST(diagnosis, kernel_without_nfs_mount) {
    scenario sc;
    sc.dora(0, "pi4").sent(1, "start4.elf").sent(3, "kernel8.img");
    EXPECT_EQ(sc.diag(30).problem, "booting");
    sc.dora(10, "kernel");
    auto d = sc.diag(300);
    EXPECT_EQ(d.problem, "nfs_timeout");
    EXPECT_EQ(d.reached, stage::kernel);
    std::string hints;
    for (auto& h : d.hints)
        hints += h;
    EXPECT_NE(hints.find("vers=3"), std::string::npos);
    EXPECT_NE(hints.find("nfsroot"), std::string::npos);
    EXPECT_NE(hints.find("ACL"), std::string::npos);
}

TEST(diagnosis, nfs_export_missing_is_reported_at_once) {
    scenario sc;
    sc.dora(0, "kernel").add(1, "nfs.export_missing", {{"path", "/srv/roots/node01"}});
    auto d = sc.diag(2);
    EXPECT_EQ(d.problem, "nfs_export_missing");
    EXPECT_NE(d.summary.find("/srv/roots/node01"), std::string::npos);
    sc.add(3, "nfs.export_ok", {{"path", "/srv/roots/node01"}});
    EXPECT_EQ(sc.diag(4).problem, "booting");
}

TEST(diagnosis, nfs_mounted_waits_for_agent) {
    scenario sc;
    sc.dora(0, "kernel").add(1, "nfs.mount");
    EXPECT_EQ(sc.diag(1000).problem, "booting");
    EXPECT_EQ(sc.diag(1000).reached, stage::nfs_root);
}

TEST(diagnosis, json_shape) {
    scenario sc;
    sc.add(0, "power.on");
    auto j = to_json(sc.diag(100));
    EXPECT_EQ(j["stage"], "powered");
    EXPECT_EQ(j["problem"], "powered_silent");
    EXPECT_TRUE(j["summary"].is_string());
    EXPECT_TRUE(j["explanation"].is_string());
    EXPECT_TRUE(j["hints"].is_array());
    EXPECT_TRUE(j["evidence"].is_array());
}

} // namespace
} // namespace netbootd::diag
