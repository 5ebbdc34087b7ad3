#include "netbootd/diag/tracker.hpp"

#include <gtest/gtest.h>

#include "netbootd/diag/event_log.hpp"

namespace netbootd::diag {
namespace {

registry_ptr two_nodes() {
    auto cfg = parse_config(R"(
cluster:
  interface: eth0
  server_ip: 10.42.0.1
  subnet: 10.42.0.0/24
defaults:
  ip: "10.42.0.1{position:02}"
nodes:
  - {position: 1, mac: "b8:27:eb:00:00:01"}
  - {position: 2, mac: "dc:a6:32:00:00:02"}
)",
                            "test.yaml");
    return std::make_shared<const registry>(std::move(cfg));
}

event ev(std::string kind, nlohmann::json fields = nlohmann::json::object()) {
    event e;
    e.kind = std::move(kind);
    e.source = e.kind.substr(0, e.kind.find('.'));
    e.fields = std::move(fields);
    return e;
}

TEST(tracker, attributes_by_position_mac_and_ip) {
    event_bus bus;
    registry_holder reg(two_nodes());
    tracker t(bus, reg);
    auto a = ev("dhcp.discover", {{"stage", "pi3-rom"}});
    a.mac = mac_address::parse("b8:27:eb:00:00:01");
    bus.publish(a);
    auto b = ev("tftp.rrq", {{"file", "start4.elf"}});
    b.ip = reg.get()->by_position(2)->ip;
    bus.publish(b);
    auto c = ev("dhcp.discover", {{"stage", "pi4"}});
    c.mac = mac_address::parse("00:11:22:33:44:55"); // nobody's
    bus.publish(c);
    auto snap = t.snapshot();
    ASSERT_EQ(snap.size(), 2u);
    EXPECT_EQ(snap[1].current, stage::dhcp);
    EXPECT_EQ(snap[2].current, stage::firmware);
    EXPECT_EQ(t.events_for(1).size(), 1u);
    EXPECT_EQ(t.state(7).current, stage::off);
}

TEST(tracker, unattributed_foreign_server_reaches_every_node_diagnosis) {
    event_bus bus;
    registry_holder reg(two_nodes());
    tracker t(bus, reg);
    auto d = ev("dhcp.discover", {{"stage", "pi4"}});
    d.position = 2;
    bus.publish(d);
    auto f = ev("dhcp.foreign_server", {{"server", "10.42.0.200"}});
    f.ip = ipv4_address::parse("10.42.0.200");
    bus.publish(f);
    EXPECT_EQ(t.events_for(2).size(), 2u);
    EXPECT_EQ(t.diagnose_node(2, std::chrono::system_clock::now()).problem, "foreign_dhcp_server");
}

TEST(tracker, history_is_bounded) {
    event_bus bus;
    registry_holder reg(two_nodes());
    tracker t(bus, reg, 10);
    for (int i = 0; i < 50; ++i) {
        auto e = ev("tftp.rrq", {{"file", "x"}});
        e.position = 1;
        bus.publish(e);
    }
    EXPECT_EQ(t.events_for(1).size(), 10u);
    EXPECT_EQ(t.state(1).rrqs, 50);
}

} // namespace
} // namespace netbootd::diag
