#include "netbootd/core/registry.hpp"

#include <chrono>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace netbootd;
using ::testing::HasSubstr;

namespace {

std::shared_ptr<const registry> ines() {
    return std::make_shared<const registry>(
        load_config(NETBOOTD_SOURCE_DIR "/configs/ines-60.yaml"));
}

std::vector<int> positions(const std::vector<const node*>& v) {
    std::vector<int> out;
    for (auto* n : v)
        out.push_back(n->position);
    return out;
}

} // namespace

TEST(registry, lookups_by_every_key) {
    auto r = ines();
    const node* by_pos = r->by_position(2);
    ASSERT_NE(by_pos, nullptr);
    EXPECT_EQ(r->by_mac(*mac_address::parse("B8-27-EB-E2-47-CC")), by_pos);
    EXPECT_EQ(r->by_serial(0x27e247cc), by_pos);
    EXPECT_EQ(r->by_ip(*ipv4_address::parse("10.42.0.2")), by_pos);
    EXPECT_EQ(r->by_hostname("node02"), by_pos);
    EXPECT_EQ(r->by_hostname("node99"), nullptr);
    EXPECT_EQ(r->by_position(61), nullptr);
    EXPECT_EQ(r->by_serial(0x12345678), nullptr);
}

TEST(registry, select_what_operators_type) {
    auto r = ines();
    EXPECT_EQ(r->select("all")->size(), 60u);
    EXPECT_EQ(positions(*r->select("1-3,60")), (std::vector<int>{1, 2, 3, 60}));
    EXPECT_EQ(positions(*r->select("node[01-03],node35")), (std::vector<int>{1, 2, 3, 35}));
    EXPECT_EQ(positions(*r->select("10.42.0.[4-5]")), (std::vector<int>{4, 5}));
    EXPECT_EQ(positions(*r->select("b8:27:eb:fc:6a:59")), (std::vector<int>{35}));
    EXPECT_EQ(positions(*r->select("27e247cc")), (std::vector<int>{2}));
    EXPECT_EQ(positions(*r->select("3,node03,10.42.0.3")), (std::vector<int>{3}))
        << "duplicates fold";
}

TEST(registry, select_errors_name_what_matched_nothing) {
    auto r = ines();
    EXPECT_THAT(r->select("62").error(), HasSubstr("no node at position 62"));
    EXPECT_THAT(r->select("node[01-61]").error(), HasSubstr("'node61' matches no node"));
    EXPECT_THAT(r->select("node[01-").error(), HasSubstr("unterminated"));
    EXPECT_THAT(r->select("aa:bb:cc:dd:ee:ff").error(), HasSubstr("no node has MAC"));
}

TEST(registry, holder_swaps_snapshots_and_readers_keep_theirs) {
    registry_holder h(ines());
    auto before = h.get();
    auto cfg = load_config(NETBOOTD_SOURCE_DIR "/configs/lab.yaml");
    h.replace(std::make_shared<const registry>(std::move(cfg)));
    EXPECT_EQ(before->nodes().size(), 60u) << "an old snapshot stays valid for its holder";
    EXPECT_EQ(h.get()->nodes().size(), 4u);
}

TEST(registry, ten_thousand_nodes_load_and_look_up) {
    std::string text = "cluster: { server_ip: 10.0.0.1, subnet: 10.0.0.0/16 }\n"
                       "defaults: { hostname: \"n{position:05}\" }\nnodes:\n";
    for (int p = 1; p <= 10000; ++p)
        text += fmt::format(
            "  - {{ position: {}, mac: \"02:00:00:00:{:02x}:{:02x}\", ip: 10.0.{}.{} }}\n", p,
            p >> 8, p & 0xff, 1 + p / 250, p % 250 + 1);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = std::make_shared<const registry>(parse_config(text, "big.yaml"));
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    RecordProperty("load_ms", static_cast<int>(ms));
    ASSERT_EQ(r->nodes().size(), 10000u);
    EXPECT_EQ(r->by_mac(*mac_address::parse("02:00:00:00:27:10"))->position, 10000);
    EXPECT_EQ(r->by_hostname("n04242")->position, 4242);
}
