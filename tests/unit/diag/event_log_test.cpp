#include "netbootd/diag/event_log.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>

namespace netbootd::diag {
namespace {

struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        path = std::filesystem::temp_directory_path() /
               ("netbootd-evlog-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(path);
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
};

event make(std::uint64_t seq, int pos, std::string kind) {
    event e;
    e.seq = seq;
    e.time = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000 + seq));
    e.position = pos;
    e.mac = mac_address::parse("b8:27:eb:00:00:01");
    e.ip = ipv4_address::parse("10.42.0.1");
    e.source = "tftp";
    e.kind = std::move(kind);
    e.level = severity::warning;
    e.fields = {{"file", "start.elf"}, {"n", seq}};
    return e;
}

TEST(event_log, json_round_trip) {
    auto e = make(7, 3, "tftp.sent");
    auto back = event_from_json(to_json(e));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->seq, 7u);
    EXPECT_EQ(back->time, e.time);
    EXPECT_EQ(back->position, 3);
    EXPECT_EQ(back->mac, e.mac);
    EXPECT_EQ(back->ip, e.ip);
    EXPECT_EQ(back->kind, "tftp.sent");
    EXPECT_EQ(back->source, "tftp");
    EXPECT_EQ(back->level, severity::warning);
    EXPECT_EQ(back->fields, e.fields);
    EXPECT_FALSE(event_from_json(nlohmann::json::array()));
    EXPECT_FALSE(event_from_json({{"kind", 5}}));
}

TEST(event_log, json_keeps_microseconds_and_reads_older_records) {
    auto e = make(8, 3, "tftp.rrq");
    e.time += std::chrono::microseconds(123456);
    auto back = event_from_json(to_json(e));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->time, e.time);
    // A record written before time_us existed: milliseconds only.
    auto old = to_json(e);
    old.erase("time_us");
    back = event_from_json(old);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->time, e.time - std::chrono::microseconds(456));
}

TEST(event_log, appends_filters_and_limits) {
    temp_dir d;
    event_log log(d.path);
    for (std::uint64_t i = 1; i <= 20; ++i)
        log.append(make(i, i % 2 ? 1 : 2, i % 3 ? "tftp.sent" : "dhcp.discover"));
    event_query q;
    q.filter.position = 1;
    q.limit = 3;
    auto out = log.read(q);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out.back().seq, 19u);
    EXPECT_EQ(out.front().seq, 15u);
    q = {};
    q.filter.kind = "dhcp.";
    EXPECT_EQ(log.read(q).size(), 6u);
    q = {};
    q.since = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'018));
    EXPECT_EQ(log.read(q).size(), 3u);
}

TEST(event_log, rotates_by_size_and_reads_across_files) {
    temp_dir d;
    {
        event_log log(d.path, 2000, 3);
        for (std::uint64_t i = 1; i <= 40; ++i)
            log.append(make(i, 1, "tftp.sent"));
        EXPECT_EQ(log.write_errors(), 0u);
    }
    EXPECT_TRUE(std::filesystem::exists(d.path / "events.jsonl.1"));
    EXPECT_TRUE(std::filesystem::exists(d.path / "events.jsonl.3"));
    EXPECT_FALSE(std::filesystem::exists(d.path / "events.jsonl.4"));
    for (auto& f : std::filesystem::directory_iterator(d.path))
        EXPECT_LE(std::filesystem::file_size(f), 2000u) << f.path();
    event_log again(d.path, 2000, 3);
    event_query q;
    q.limit = 1000;
    auto all = again.read(q);
    ASSERT_FALSE(all.empty());
    EXPECT_EQ(all.back().seq, 40u);
    for (std::size_t i = 1; i < all.size(); ++i)
        EXPECT_EQ(all[i].seq, all[i - 1].seq + 1); // in order, nothing lost inside the window
}

TEST(event_log, skips_torn_and_foreign_lines) {
    temp_dir d;
    {
        event_log log(d.path);
        log.append(make(1, 1, "tftp.sent"));
    }
    {
        std::ofstream out(d.path / "events.jsonl", std::ios::app);
        out << "not json\n{\"kind\":\"x\"}\n{\"seq\":2,\"ki";
    }
    event_log log(d.path);
    log.append(make(3, 1, "tftp.sent"));
    auto all = log.read({});
    // The torn line is terminated on open, so the next record starts on a line of its own.
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].seq, 1u);
    EXPECT_EQ(all[1].seq, 3u);
}

} // namespace
} // namespace netbootd::diag
