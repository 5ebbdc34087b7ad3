#include "netbootd/tftp/negotiate.hpp"

#include <gtest/gtest.h>

namespace netbootd::tftp {
namespace {

struct row {
    const char* name;
    std::vector<option> req;
    std::uint16_t blksize;
    std::uint16_t windowsize;
    std::vector<option> oack;
};

TEST(negotiate, table) {
    const negotiation_limits lim{1468, 16};
    const std::uint64_t size = 2345678;
    const std::vector<row> rows = {
        {"no options: no OACK (Pi 3 ROM)", {}, 512, 1, {}},
        {"tsize only (bootcode.bin)", {{"tsize", "0"}}, 512, 1, {{"tsize", "2345678"}}},
        {"Pi 4: tsize + blksize 1024",
         {{"tsize", "0"}, {"blksize", "1024"}},
         1024,
         1,
         {{"tsize", "2345678"}, {"blksize", "1024"}}},
        {"blksize clamped to max", {{"blksize", "65464"}}, 1468, 1, {{"blksize", "1468"}}},
        {"blksize below 8 ignored", {{"blksize", "7"}}, 512, 1, {}},
        {"blksize not a number ignored", {{"blksize", "12x"}}, 512, 1, {}},
        {"blksize negative ignored", {{"blksize", "-1"}}, 512, 1, {}},
        {"blksize huge ignored safely", {{"blksize", "99999999999999999999"}}, 512, 1, {}},
        {"windowsize 8", {{"windowsize", "8"}}, 512, 8, {{"windowsize", "8"}}},
        {"windowsize clamped", {{"windowsize", "64"}}, 512, 16, {{"windowsize", "16"}}},
        {"windowsize 0 ignored", {{"windowsize", "0"}}, 512, 1, {}},
        {"timeout echoed", {{"timeout", "6"}}, 512, 1, {{"timeout", "6"}}},
        {"timeout 0 ignored", {{"timeout", "0"}}, 512, 1, {}},
        {"timeout 256 ignored", {{"timeout", "256"}}, 512, 1, {}},
        {"unknown option ignored",
         {{"multicast", ""}, {"tsize", "0"}},
         512,
         1,
         {{"tsize", "2345678"}}},
        {"name case kept in OACK", {{"BLKSIZE", "1468"}}, 1468, 1, {{"BLKSIZE", "1468"}}},
        {"order kept",
         {{"windowsize", "4"}, {"blksize", "1024"}, {"tsize", "0"}},
         1024,
         4,
         {{"windowsize", "4"}, {"blksize", "1024"}, {"tsize", "2345678"}}},
    };
    for (const auto& r : rows) {
        auto n = negotiate(r.req, size, lim);
        EXPECT_EQ(n.blksize, r.blksize) << r.name;
        EXPECT_EQ(n.windowsize, r.windowsize) << r.name;
        EXPECT_EQ(n.oack, r.oack) << r.name;
    }
}

TEST(negotiate, default_max_is_1468) {
    auto n = negotiate({{"blksize", "1500"}}, 10, negotiation_limits{});
    EXPECT_EQ(n.blksize, 1468);
}

TEST(negotiate, timeout_value_returned) {
    auto n = negotiate({{"timeout", "3"}}, 10, {});
    ASSERT_TRUE(n.timeout_s);
    EXPECT_EQ(*n.timeout_s, 3);
}

} // namespace
} // namespace netbootd::tftp
