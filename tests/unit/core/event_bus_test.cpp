#include "netbootd/core/event_bus.hpp"

#include <thread>

#include <gtest/gtest.h>

using namespace netbootd;

namespace {
event ev(std::string kind, std::optional<int> pos = std::nullopt) {
    event e;
    e.source = kind.substr(0, kind.find('.'));
    e.kind = std::move(kind);
    e.position = pos;
    return e;
}
} // namespace

TEST(event_bus, assigns_increasing_seq_and_time) {
    event_bus bus;
    bus.publish(ev("dhcp.discover"));
    bus.publish(ev("dhcp.offer"));
    auto all = bus.recent({}, 10);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].seq, 1u);
    EXPECT_EQ(all[1].seq, 2u);
    EXPECT_NE(all[0].time, std::chrono::system_clock::time_point{});
    EXPECT_EQ(bus.last_seq(), 2u);
}

TEST(event_bus, ring_is_bounded_and_keeps_the_newest) {
    event_bus bus(3);
    for (int i = 0; i < 10; ++i)
        bus.publish(ev("tftp.rrq", i));
    auto all = bus.recent({}, 100);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all.front().position, 7);
    EXPECT_EQ(all.back().position, 9);
    EXPECT_EQ(bus.counts().at("tftp.rrq"), 10u)
        << "counts cover everything, not just what is retained";
}

TEST(event_bus, filters_by_node_kind_prefix_and_seq) {
    event_bus bus;
    bus.publish(ev("dhcp.discover", 1));
    bus.publish(ev("tftp.rrq", 1));
    bus.publish(ev("tftp.sent", 2));
    bus.publish(ev("tftp.sent", 1));
    event_filter f;
    f.position = 1;
    f.kind = "tftp.";
    auto r = bus.recent(f, 10);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].kind, "tftp.rrq");
    f.after_seq = 2;
    EXPECT_EQ(bus.recent(f, 10).size(), 1u);
    f = {};
    f.kind = "tftp.sent";
    EXPECT_EQ(bus.recent(f, 1).back().position, 1) << "limit keeps the newest";
}

TEST(event_bus, after_pages_forward_from_the_oldest) {
    event_bus bus(100);
    EXPECT_TRUE(bus.after({}, 10).empty());
    EXPECT_EQ(bus.first_seq(), 0u);
    for (int i = 0; i < 150; ++i)
        bus.publish(ev(i % 2 ? "tftp.sent" : "dhcp.ack", i));
    EXPECT_EQ(bus.first_seq(), 51u) << "the ring keeps seq 51..150";
    event_filter f;
    f.after_seq = 10; // evicted: starts at the oldest retained
    auto p = bus.after(f, 5);
    ASSERT_EQ(p.size(), 5u);
    EXPECT_EQ(p.front().seq, 51u);
    EXPECT_EQ(p.back().seq, 55u);
    f.after_seq = 120;
    f.kind = "tftp.";
    p = bus.after(f, 3);
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p[0].seq, 122u) << "odd positions are tftp.sent, seq = position + 1";
    EXPECT_EQ(p[2].seq, 126u);
    f.after_seq = 150;
    EXPECT_TRUE(bus.after(f, 3).empty());
}

TEST(event_bus, subscribers_get_events_in_order_until_unsubscribed) {
    event_bus bus;
    std::vector<std::uint64_t> seen;
    {
        auto sub = bus.subscribe([&](const event& e) { seen.push_back(e.seq); });
        bus.publish(ev("a.b"));
        bus.publish(ev("a.c"));
    }
    bus.publish(ev("a.d"));
    EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2}));
}

TEST(event_bus, concurrent_publishers_deliver_in_seq_order) {
    event_bus bus(100000);
    std::vector<std::uint64_t> seen;
    auto sub = bus.subscribe([&](const event& e) { seen.push_back(e.seq); });
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i)
                bus.publish(ev("x.y"));
        });
    for (auto& t : threads)
        t.join();
    ASSERT_EQ(seen.size(), 4000u);
    for (std::size_t i = 1; i < seen.size(); ++i)
        ASSERT_LT(seen[i - 1], seen[i]);
}

TEST(event, json_form) {
    event e = ev("tftp.not_found", 2);
    e.mac = mac_address::parse("b8:27:eb:e2:47:cc");
    e.ip = ipv4_address::parse("10.42.0.2");
    e.fields = {{"file", "27e247cc/start.elf"}, {"expected", true}};
    e.time = std::chrono::system_clock::time_point(std::chrono::microseconds(1700000000123456));
    auto j = to_json(e);
    EXPECT_EQ(j["kind"], "tftp.not_found");
    EXPECT_EQ(j["position"], 2);
    EXPECT_EQ(j["mac"], "b8:27:eb:e2:47:cc");
    EXPECT_EQ(j["time"], "2023-11-14T22:13:20.123Z");
    EXPECT_EQ(j["time_ms"], 1700000000123);
    EXPECT_EQ(j["time_us"], 1700000000123456);
    EXPECT_EQ(j["fields"]["expected"], true);
    EXPECT_EQ(to_line(e), "tftp.not_found pos=2 mac=b8:27:eb:e2:47:cc ip=10.42.0.2 expected=true "
                          "file=27e247cc/start.elf");
}
