#include "netbootd/dhcp/lease_store.hpp"

#include <fstream>

#include <gtest/gtest.h>

namespace netbootd::dhcp {
namespace {

namespace fs = std::filesystem;

const auto t0 = clock::time_point(std::chrono::seconds(1'800'000'000));

struct tmpdir {
    fs::path path;
    tmpdir() {
        path = fs::temp_directory_path() / ("netbootd-lease-test-" + std::to_string(::getpid()) +
                                            "-" + std::to_string(counter()++));
        fs::remove_all(path);
    }
    ~tmpdir() { fs::remove_all(path); }
    static int& counter() {
        static int c = 0;
        return c;
    }
};

lease mk(const char* mac, const char* ip, std::optional<clock::time_point> exp = std::nullopt,
         lease_state st = lease_state::bound) {
    return lease{*mac_address::parse(mac), *ipv4_address::parse(ip), exp, st};
}

TEST(lease_store, commits_survive_reopen) {
    tmpdir d;
    {
        lease_store s(d.path, t0);
        EXPECT_TRUE(
            s.apply({lease_change::kind::commit, mk("b8:27:eb:00:00:01", "10.42.0.1")}, t0));
        EXPECT_FALSE(
            s.apply({lease_change::kind::commit, mk("b8:27:eb:00:00:01", "10.42.0.1")}, t0));
        s.apply({lease_change::kind::commit,
                 mk("52:54:00:00:00:0a", "10.42.0.100", t0 + std::chrono::hours(1))},
                t0);
        s.apply({lease_change::kind::hold, mk("52:54:00:00:00:0b", "10.42.0.101",
                                              t0 + std::chrono::minutes(1), lease_state::offered)},
                t0);
        EXPECT_EQ(s.journal_records(), 2u); // the hold is never written
    }
    lease_store s(d.path, t0);
    ASSERT_EQ(s.all().size(), 2u);
    EXPECT_EQ(s.by_mac(*mac_address::parse("b8:27:eb:00:00:01"))->ip.to_string(), "10.42.0.1");
    EXPECT_EQ(s.by_ip(*ipv4_address::parse("10.42.0.100"))->expires, t0 + std::chrono::hours(1));
    EXPECT_EQ(s.by_mac(*mac_address::parse("52:54:00:00:00:0b")), nullptr);
}

TEST(lease_store, release_and_move_are_journaled) {
    tmpdir d;
    {
        lease_store s(d.path, t0);
        s.apply({lease_change::kind::commit, mk("52:54:00:00:00:0a", "10.42.0.100")}, t0);
        s.apply({lease_change::kind::commit, mk("52:54:00:00:00:0a", "10.42.0.101")}, t0); // moved
        s.apply({lease_change::kind::commit, mk("52:54:00:00:00:0c", "10.42.0.102")}, t0);
        s.apply({lease_change::kind::release, mk("52:54:00:00:00:0c", "10.42.0.102")}, t0);
    }
    lease_store s(d.path, t0);
    ASSERT_EQ(s.all().size(), 1u);
    EXPECT_EQ(s.all()[0].ip.to_string(), "10.42.0.101");
}

TEST(lease_store, torn_and_corrupt_lines_are_skipped) {
    tmpdir d;
    fs::create_directories(d.path);
    {
        std::ofstream f(d.path / lease_store::file_name, std::ios::binary);
        f << journal_line(mk("b8:27:eb:00:00:01", "10.42.0.1"));
        auto bad = journal_line(mk("b8:27:eb:00:00:02", "10.42.0.2"));
        bad[3] = 'X'; // checksum mismatch
        f << bad;
        f << journal_line(mk("b8:27:eb:00:00:03", "10.42.0.3"));
        const auto torn = journal_line(mk("b8:27:eb:00:00:04", "10.42.0.4"));
        f << torn.substr(0, torn.size() / 2); // kill -9 mid-write
    }
    {
        lease_store s(d.path, t0);
        ASSERT_EQ(s.all().size(), 2u);
        s.apply({lease_change::kind::commit, mk("b8:27:eb:00:00:05", "10.42.0.5")}, t0);
    }
    lease_store s(d.path, t0);
    EXPECT_EQ(s.all().size(), 3u); // the line after the torn one is intact
}

TEST(lease_store, compaction_drops_expired_and_bounds_the_journal) {
    tmpdir d;
    lease_store s(d.path, t0);
    s.apply({lease_change::kind::commit,
             mk("52:54:00:00:00:0a", "10.42.0.100", t0 + std::chrono::seconds(10))},
            t0);
    for (int i = 0; i < 1500; ++i)
        s.apply({lease_change::kind::commit,
                 mk("52:54:00:00:00:0b", "10.42.0.101", t0 + std::chrono::seconds(100 + i))},
                t0);
    EXPECT_LT(s.journal_records(), 1100u);
    s.compact(t0 + std::chrono::seconds(20));
    EXPECT_EQ(s.journal_records(), 1u);
    EXPECT_EQ(s.by_ip(*ipv4_address::parse("10.42.0.100")), nullptr);
    EXPECT_FALSE(fs::exists(d.path / (std::string(lease_store::file_name) + ".tmp")));
}

TEST(lease_store, find_free_skips_active_leases_only) {
    lease_store s;
    const address_pool pool{*ipv4_address::parse("10.42.0.100"),
                            *ipv4_address::parse("10.42.0.102")};
    EXPECT_EQ(s.find_free(pool, t0)->to_string(), "10.42.0.100");
    s.apply({lease_change::kind::commit, mk("52:54:00:00:00:0a", "10.42.0.100")}, t0);
    s.apply({lease_change::kind::hold, mk("52:54:00:00:00:0b", "10.42.0.101",
                                          t0 + std::chrono::seconds(5), lease_state::offered)},
            t0);
    EXPECT_EQ(s.find_free(pool, t0)->to_string(), "10.42.0.102");
    s.apply({lease_change::kind::commit, mk("00:00:00:00:00:00", "10.42.0.102",
                                            t0 + std::chrono::seconds(60), lease_state::declined)},
            t0);
    EXPECT_FALSE(s.find_free(pool, t0));
    EXPECT_EQ(s.find_free(pool, t0 + std::chrono::seconds(6))->to_string(), "10.42.0.101");
}

TEST(lease_store, unwritable_state_dir_throws) {
    EXPECT_THROW(lease_store(fs::path("/proc/netbootd-no-such-dir")), std::runtime_error);
}

} // namespace
} // namespace netbootd::dhcp
