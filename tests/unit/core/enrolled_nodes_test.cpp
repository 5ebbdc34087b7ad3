// The enrolled nodes file (written by `netbootctl enroll`) merged into the cluster file's nodes:
// precedence, conflicts with file:line in both files, and load_config picking it up.
#include <fstream>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "netbootd/core/config.hpp"
#include "netbootd/core/registry.hpp"

using namespace netbootd;
using ::testing::HasSubstr;

namespace {

const char* cluster = R"(cluster:
  name: t
  interface: eth0
  server_ip: 10.42.0.250
  subnet: 10.42.0.0/24
power:
  drivers:
    sim: { type: sim }
defaults:
  hostname: "pi{position:02}"
  ip: "10.42.0.{position}"
  power: { driver: sim, channel: "{position}" }
nodes:
  - { position: 1, mac: "b8:27:eb:00:00:01", serial: "00000001" }
  - { position: 2, mac: "dc:a6:32:00:00:02" }
)";

std::vector<diagnostic> errors_of(const std::string& enrolled) {
    try {
        parse_config(cluster, "c.yaml", ".", enrolled_nodes_text{enrolled, "e.yaml"});
    } catch (const config_error& e) {
        return e.diagnostics();
    }
    return {};
}

} // namespace

TEST(enrolled_nodes, adds_positions_rendered_from_defaults) {
    auto cfg = parse_config(cluster, "c.yaml", ".",
                            enrolled_nodes_text{"nodes:\n"
                                                "  - { position: 4, mac: \"dc:a6:32:00:00:04\", "
                                                "serial: \"0000abcd\" }\n",
                                                "e.yaml"});
    ASSERT_EQ(cfg.nodes.size(), 3u);
    EXPECT_EQ(cfg.enrolled_count, 1u);
    registry reg(cfg);
    const node* n = reg.by_position(4);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->hostname, "pi04");
    EXPECT_EQ(n->ip.to_string(), "10.42.0.4");
    EXPECT_EQ(n->serial, 0xabcdu);
    ASSERT_TRUE(n->power.has_value());
    EXPECT_EQ(n->power->channel, "4");
    EXPECT_THAT(cfg.summary(), HasSubstr("3 nodes (1 enrolled)"));
}

TEST(enrolled_nodes, empty_or_comment_only_file_adds_nothing) {
    EXPECT_TRUE(errors_of("# nothing yet\n").empty());
    EXPECT_TRUE(errors_of("nodes:\n").empty());
}

TEST(enrolled_nodes, same_board_at_a_listed_position_is_ignored) {
    auto cfg = parse_config(
        cluster, "c.yaml", ".",
        enrolled_nodes_text{"nodes:\n  - { position: 2, mac: \"dc:a6:32:00:00:02\" }\n", "e.yaml"});
    EXPECT_EQ(cfg.nodes.size(), 2u);
    EXPECT_EQ(cfg.enrolled_count, 0u);
}

TEST(enrolled_nodes, other_mac_at_a_listed_position_names_both_files) {
    auto d = errors_of("nodes:\n  - { position: 2, mac: \"dc:a6:32:00:00:99\" }\n");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].file, "e.yaml");
    EXPECT_EQ(d[0].line, 2);
    EXPECT_THAT(d[0].message, HasSubstr("c.yaml:15 binds it to dc:a6:32:00:00:02"));
}

TEST(enrolled_nodes, mac_or_serial_used_in_both_files_is_a_duplicate) {
    auto d = errors_of("nodes:\n"
                       "  - { position: 5, mac: \"b8:27:eb:00:00:01\" }\n"
                       "  - { position: 6, mac: \"dc:a6:32:00:00:06\", serial: \"00000001\" }\n");
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].file, "e.yaml");
    EXPECT_EQ(d[0].line, 2);
    EXPECT_THAT(d[0].message,
                HasSubstr("duplicate MAC b8:27:eb:00:00:01 (first used at c.yaml:14)"));
    EXPECT_EQ(d[1].line, 3);
    EXPECT_THAT(d[1].message, HasSubstr("duplicate serial 00000001 (first used at c.yaml:14)"));
}

TEST(enrolled_nodes, only_position_mac_and_serial_are_allowed) {
    auto d = errors_of("nodes:\n  - { position: 5, mac: \"dc:a6:32:00:00:05\", ip: 10.42.0.9 }\n");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].file, "e.yaml");
    EXPECT_THAT(d[0].message, HasSubstr("unknown key 'ip'"));
}

TEST(enrolled_nodes, tftp_prefix_belongs_in_the_cluster_file) {
    auto d = errors_of(
        "nodes:\n  - { position: 5, mac: \"dc:a6:32:00:00:05\", tftp_prefix: \"rack1/\" }\n");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].file, "e.yaml");
    EXPECT_THAT(d[0].message, HasSubstr("unknown key 'tftp_prefix'"));
}

TEST(enrolled_nodes, malformed_entries_report_their_line) {
    auto d =
        errors_of("nodes:\n  - { position: 5, mac: \"zz\" }\n  - { mac: \"dc:a6:32:00:00:07\" }\n");
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].file, "e.yaml");
    EXPECT_EQ(d[0].line, 2);
    EXPECT_THAT(d[0].message, HasSubstr("malformed MAC 'zz'"));
    EXPECT_EQ(d[1].line, 3);
    EXPECT_THAT(d[1].message, HasSubstr("needs a 'position'"));
    auto y = errors_of("nodes: [ {\n");
    ASSERT_EQ(y.size(), 1u);
    EXPECT_EQ(y[0].file, "e.yaml");
    auto top = errors_of("node:\n  - { position: 5, mac: \"dc:a6:32:00:00:05\" }\n");
    ASSERT_EQ(top.size(), 1u);
    EXPECT_THAT(top[0].message, HasSubstr("unknown key 'node'"));
}

TEST(enrolled_nodes, load_config_reads_the_file_next_to_the_config) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("netbootd-enrolled-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "cluster.yaml") << cluster;
    auto cfg = load_config(dir / "cluster.yaml");
    EXPECT_EQ(cfg.nodes.size(), 2u);
    EXPECT_TRUE(cfg.enrolled_source.empty());
    EXPECT_EQ(enrolled_nodes_path(dir / "cluster.yaml"), dir / "enrolled-nodes.yaml");
    std::ofstream(dir / "enrolled-nodes.yaml")
        << "nodes:\n  - { position: 3, mac: \"dc:a6:32:00:00:03\" }\n";
    cfg = load_config(dir / "cluster.yaml");
    EXPECT_EQ(cfg.nodes.size(), 3u);
    EXPECT_EQ(cfg.enrolled_source, dir / "enrolled-nodes.yaml");
    std::ofstream(dir / "enrolled-nodes.yaml")
        << "nodes:\n  - { position: 3, mac: \"b8:27:eb:00:00:01\" }\n";
    try {
        load_config(dir / "cluster.yaml");
        ADD_FAILURE() << "a MAC bound twice must be refused";
    } catch (const config_error& e) {
        ASSERT_EQ(e.diagnostics().size(), 1u);
        EXPECT_EQ(e.diagnostics()[0].file, (dir / "enrolled-nodes.yaml").string());
        EXPECT_THAT(e.diagnostics()[0].to_string(), HasSubstr("enrolled-nodes.yaml:2:"));
    }
    std::filesystem::remove_all(dir);
}
