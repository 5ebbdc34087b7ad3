// Enrollment by position against a simulated rack: the sim driver powers slots, a fake DHCP
// stream reports the board of whichever slot is powered, the inventory file is real.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "netbootd/power/enrollment.hpp"
#include "netbootd/power/sim_driver.hpp"
#include "test_support.hpp"

namespace netbootd::power {
namespace {

using namespace std::chrono_literals;
using testing::temp_dir;

mac_address mac(int i) {
    return *mac_address::parse(fmt::format("dc:a6:32:00:00:{:02x}", i));
}

TEST(inventory_file, round_trip_and_format) {
    inventory inv;
    ASSERT_TRUE(inv.bind({2, mac(2), 0x27e247cc}));
    ASSERT_TRUE(inv.bind({1, mac(1), std::nullopt}));
    const auto text = format_enrollment(inv);
    EXPECT_NE(text.find("nodes:\n  - { position: 1, mac: \"dc:a6:32:00:00:01\" }\n"
                        "  - { position: 2, mac: \"dc:a6:32:00:00:02\", serial: \"27e247cc\" }\n"),
              std::string::npos)
        << text;
    auto back = parse_enrollment(text, "enrolled-nodes.yaml");
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back->nodes(), inv.nodes());
}

TEST(inventory_file, refuses_duplicates) {
    inventory inv;
    ASSERT_TRUE(inv.bind({1, mac(1), 0x11111111}));
    EXPECT_EQ(inv.bind({2, mac(1), std::nullopt}).error(),
              "MAC dc:a6:32:00:00:01 is already bound to position 1");
    EXPECT_EQ(inv.bind({1, mac(3), std::nullopt}).error(),
              "position 1 is already bound to dc:a6:32:00:00:01");
    EXPECT_EQ(inv.bind({3, mac(3), 0x11111111}).error(),
              "serial 11111111 is already bound to position 1");
    auto dup = parse_enrollment("nodes:\n  - {position: 1, mac: 'dc:a6:32:00:00:01'}\n"
                                "  - {position: 2, mac: 'dc:a6:32:00:00:01'}\n",
                                "f.yaml");
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error(), "f.yaml:3: MAC dc:a6:32:00:00:01 is already bound to position 1");
    EXPECT_FALSE(parse_enrollment("nodes:\n  - {position: 1, mac: 'zz'}\n", "f.yaml"));
}

TEST(inventory_file, save_is_atomic_and_leaves_no_temp_files) {
    temp_dir dir;
    const auto file = enrollment_path(dir.path() / "cluster.yaml");
    EXPECT_EQ(file, dir.path() / "enrolled-nodes.yaml");
    inventory inv;
    ASSERT_TRUE(inv.bind({5, mac(5), std::nullopt}));
    ASSERT_FALSE(save_enrollment(file, inv));
    auto back = load_enrollment(file);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->nodes(), inv.nodes());
    int files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path()))
        ++files;
    EXPECT_EQ(files, 1);
    auto missing = load_enrollment(dir.path() / "none.yaml");
    ASSERT_TRUE(missing);
    EXPECT_TRUE(missing->nodes().empty());
}

// A rack of slots: which board sits where; the sim driver says which slots are powered.
class enroll_test : public ::testing::Test {
  protected:
    enroll_test()
        : reg_(std::make_shared<const registry>(parse_config(R"(cluster:
  interface: eth0
  server_ip: 10.42.0.250
  subnet: 10.42.0.0/24
power:
  drivers:
    sim: { type: sim }
defaults:
  ip: "10.42.0.{position}"
  power: { driver: sim, channel: "{position}" }
nodes:
  - { position: 10, mac: "b8:27:eb:00:00:10" }
)",
                                                             "cluster.yaml"))) {
        auto s = std::make_unique<sim_driver>("sim", sim_driver_settings{});
        sim_ = s.get();
        drivers_.add(std::move(s));
    }

    unknown_client_source rack_source() {
        return [this](steady_time deadline) -> std::optional<unknown_client> {
            if (!strays_.empty()) {
                auto c = strays_.front();
                strays_.erase(strays_.begin());
                return c;
            }
            for (const auto& [slot, board] : rack_)
                if (sim_->is_on(std::to_string(slot))) {
                    now_ += 3s; // it takes the board a moment to ask
                    return board;
                }
            now_ = deadline;
            return std::nullopt;
        };
    }

    std::vector<slot_outcome> run(const std::vector<int>& positions) {
        enroll_context ctx{*reg_,
                           exec_,
                           rack_source(),
                           [this] { return now_; },
                           dir_.path() / "enrolled-nodes.yaml",
                           &bus_,
                           {}};
        enroll_options opt;
        opt.timeout = 30s;
        return enroll(positions, ctx, opt);
    }

    std::vector<std::string> results(const std::vector<slot_outcome>& o) {
        std::vector<std::string> out;
        for (const auto& s : o)
            out.push_back(fmt::format("{}:{}", s.position, to_string(s.result)));
        return out;
    }

    registry_ptr reg_;
    driver_set drivers_;
    sim_driver* sim_;
    driver_executor exec_{drivers_};
    event_bus bus_;
    temp_dir dir_;
    steady_time now_{};
    std::map<int, unknown_client> rack_;
    std::vector<unknown_client> strays_;
};

TEST_F(enroll_test, binds_each_slot_in_order_and_reports_empty_slots) {
    rack_ = {{1, {mac(1), 0xaaaa0001}}, {2, {mac(2), std::nullopt}}, {4, {mac(4), 0xaaaa0004}}};
    const auto out = run({1, 2, 3, 4});
    EXPECT_EQ(results(out),
              (std::vector<std::string>{"1:bound", "2:bound", "3:nothing appeared", "4:bound"}));
    EXPECT_EQ(out[2].message, "no unknown board asked within 30000 ms");
    auto inv = load_enrollment(dir_.path() / "enrolled-nodes.yaml");
    ASSERT_TRUE(inv);
    EXPECT_EQ(inv->nodes(),
              (std::vector<enrolled_node>{
                  {1, mac(1), 0xaaaa0001}, {2, mac(2), std::nullopt}, {4, mac(4), 0xaaaa0004}}));
    // Only one slot was ever on at a time: every slot off first, then on/off one by one.
    EXPECT_EQ(sim_->history(),
              (std::vector<std::string>{"1=off", "2=off", "3=off", "4=off", "1=on", "1=off", "2=on",
                                        "2=off", "3=on", "3=off", "4=on", "4=off"}));
    EXPECT_EQ(bus_.counts()["power.enrolled"], 3u);
    EXPECT_EQ(bus_.counts()["power.enroll_empty"], 1u);
}

TEST_F(enroll_test, resumes_from_the_file) {
    rack_ = {{1, {mac(1), std::nullopt}}, {2, {mac(2), std::nullopt}}};
    ASSERT_EQ(results(run({1, 2, 3})),
              (std::vector<std::string>{"1:bound", "2:bound", "3:nothing appeared"}));
    rack_[3] = {mac(3), std::nullopt}; // the operator seats the missing board
    const auto out = run({1, 2, 3});
    EXPECT_EQ(results(out),
              (std::vector<std::string>{"1:already bound", "2:already bound", "3:bound"}));
    auto inv = load_enrollment(dir_.path() / "enrolled-nodes.yaml");
    ASSERT_TRUE(inv);
    EXPECT_EQ(inv->nodes().size(), 3u);
}

TEST_F(enroll_test, never_binds_the_same_mac_twice) {
    rack_ = {{1, {mac(1), std::nullopt}}};
    ASSERT_EQ(results(run({1})), (std::vector<std::string>{"1:bound"}));
    // Board 1 moved to slot 2, and the config's own node 10 also asks: neither is taken.
    rack_ = {{2, {mac(1), std::nullopt}}};
    strays_ = {{*mac_address::parse("b8:27:eb:00:00:10"), std::nullopt}};
    const auto out = run({2});
    EXPECT_EQ(results(out), (std::vector<std::string>{"2:nothing appeared"}));
    EXPECT_NE(out[0].message.find("only already-bound boards asked"), std::string::npos)
        << out[0].message;
    auto inv = load_enrollment(dir_.path() / "enrolled-nodes.yaml");
    ASSERT_TRUE(inv);
    EXPECT_EQ(inv->nodes().size(), 1u);
}

TEST_F(enroll_test, skips_a_stray_and_takes_the_new_board) {
    rack_ = {{1, {mac(1), std::nullopt}}};
    ASSERT_EQ(results(run({1})), (std::vector<std::string>{"1:bound"}));
    rack_ = {{2, {mac(2), std::nullopt}}};
    strays_ = {{mac(1), std::nullopt}}; // slot 1's board still asking (daemon not reloaded yet)
    EXPECT_EQ(results(run({2})), (std::vector<std::string>{"2:bound"}));
}

TEST_F(enroll_test, config_positions_count_as_bound) {
    EXPECT_EQ(results(run({10})), (std::vector<std::string>{"10:already bound"}));
    EXPECT_TRUE(sim_->history().empty());
}

TEST_F(enroll_test, slot_node_renders_the_default_binding) {
    auto n = slot_node(*reg_, 7);
    ASSERT_TRUE(n) << n.error();
    EXPECT_EQ(n->hostname, "node07");
    ASSERT_TRUE(n->power);
    EXPECT_EQ(n->power->driver, "sim");
    EXPECT_EQ(n->power->channel, "7");
}

} // namespace
} // namespace netbootd::power
