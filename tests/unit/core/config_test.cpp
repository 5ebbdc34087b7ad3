#include "netbootd/core/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace netbootd;
using ::testing::HasSubstr;

namespace {

const char* base = R"(cluster:
  name: t
  interface: eth0
  server_ip: 10.42.0.250
  subnet: 10.42.0.0/24
defaults:
  ip: "10.42.0.{position}"
nodes:
  - { position: 1, mac: "b8:27:eb:fc:6a:59", serial: "27e247cc" }
  - { position: 2, mac: "dc:a6:32:01:36:c2" }
)";

std::vector<diagnostic> errors_of(const std::string& text) {
    try {
        parse_config(text, "c.yaml");
    } catch (const config_error& e) {
        return e.diagnostics();
    }
    return {};
}

} // namespace

TEST(config, valid_file_applies_defaults) {
    auto cfg = parse_config(base, "c.yaml");
    ASSERT_EQ(cfg.nodes.size(), 2u);
    EXPECT_EQ(cfg.nodes[0].hostname, "node01");
    EXPECT_EQ(cfg.nodes[1].hostname, "node02");
    EXPECT_EQ(cfg.nodes[1].ip.to_string(), "10.42.0.2");
    EXPECT_EQ(cfg.nodes[0].serial, 0x27e247ccu);
    EXPECT_FALSE(cfg.nodes[1].serial.has_value());
    EXPECT_FALSE(cfg.dhcp.lease_time.has_value()) << "lease_time defaults to infinite";
    EXPECT_EQ(cfg.dhcp.unknown_clients, unknown_client_policy::ignore)
        << "strangers are ignored by default";
    EXPECT_EQ(cfg.summary(), "t: 2 nodes, 0 power drivers, dhcp full, tftp on, nfs none");
}

TEST(config, tftp_data_path_defaults_and_overrides) {
    auto cfg = parse_config(base, "c.yaml");
    EXPECT_EQ(cfg.tftp.data_threads, 1) << "one data thread batches best (docs/tftp.md)";
    EXPECT_EQ(cfg.tftp.data_nice, -5);
    cfg = parse_config(std::string("tftp: { data_threads: 4, data_nice: 0 }\n") + base, "c.yaml");
    EXPECT_EQ(cfg.tftp.data_threads, 4);
    EXPECT_EQ(cfg.tftp.data_nice, 0);
}

TEST(config, per_node_values_override_defaults) {
    auto cfg = parse_config(
        std::string(base) +
            "  - { position: 3, mac: \"d8:3a:dd:00:00:03\", hostname: builder, ip: 10.42.0.77, "
            "root: clone, model: pi5 }\n",
        "c.yaml");
    const auto& n = cfg.nodes[2];
    EXPECT_EQ(n.hostname, "builder");
    EXPECT_EQ(n.ip.to_string(), "10.42.0.77");
    EXPECT_EQ(n.root, root_mode::clone);
    EXPECT_EQ(n.model, node_model::pi5);
}

TEST(config, defaults_may_use_hostname_and_padded_position) {
    auto cfg = parse_config(R"(cluster: { server_ip: 10.42.0.250, subnet: 10.42.0.0/24 }
defaults: { hostname: "red{position:03}", ip: "10.42.0.{position}" }
power:
  drivers: { relay: { type: command } }
nodes:
  - { position: 7, mac: "b8:27:eb:00:00:07", power: { driver: relay, channel: "{hostname}-{position}" } }
)",
                            "c.yaml");
    EXPECT_EQ(cfg.nodes[0].hostname, "red007");
    ASSERT_TRUE(cfg.nodes[0].power);
    EXPECT_EQ(cfg.nodes[0].power->channel, "red007-7");
}

TEST(config, durations_and_pool) {
    auto cfg = parse_config(R"(cluster: { server_ip: 10.42.0.250, subnet: 10.42.0.0/24 }
dhcp: { pool: 10.42.0.100-10.42.0.199, lease_time: 12h, unknown_clients: pool }
nodes: []
)",
                            "c.yaml");
    ASSERT_TRUE(cfg.dhcp.pool);
    EXPECT_EQ(cfg.dhcp.pool->size(), 100u);
    EXPECT_EQ(cfg.dhcp.lease_time, std::chrono::hours(12));
}

// Each row: a change to a valid file, and the exact error it must produce at file:line:column.
struct bad_case {
    const char* name;
    std::string text;
    std::string expected;
};

void PrintTo(const bad_case& c, std::ostream* os) {
    *os << c.name;
}

class config_errors : public ::testing::TestWithParam<bad_case> {};

TEST_P(config_errors, reports_location_and_reason) {
    auto diags = errors_of(GetParam().text);
    ASSERT_FALSE(diags.empty()) << "config was accepted";
    std::string all;
    for (const auto& d : diags)
        all += d.to_string() + "\n";
    EXPECT_THAT(all, HasSubstr(GetParam().expected));
}

std::string with_node(const std::string& line) {
    return std::string(base) + line + "\n";
}

INSTANTIATE_TEST_SUITE_P(
    table, config_errors,
    ::testing::Values(
        bad_case{"duplicate_mac", with_node("  - { position: 3, mac: \"b8:27:eb:fc:6a:59\" }"),
                 "c.yaml:11:25: duplicate MAC b8:27:eb:fc:6a:59 (first used at line 9)"},
        bad_case{"duplicate_position",
                 with_node("  - { position: 2, mac: \"b8:27:eb:00:00:09\", ip: 10.42.0.9 }"),
                 "c.yaml:11:17: duplicate position 2 (first used at line 10)"},
        bad_case{"duplicate_ip",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", ip: 10.42.0.1 }"),
                 "c.yaml:11:50: duplicate IP 10.42.0.1"},
        bad_case{"duplicate_hostname",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", hostname: node01 }"),
                 "c.yaml:11:56: duplicate hostname node01"},
        bad_case{"duplicate_serial",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", serial: \"27E247CC\" }"),
                 "c.yaml:11:54: duplicate serial 27e247cc"},
        bad_case{"ip_outside_subnet",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", ip: 10.43.0.3 }"),
                 "c.yaml:11:50: IP 10.43.0.3 of node03 is outside the subnet 10.42.0.0/24"},
        bad_case{"ip_is_server", with_node("  - { position: 250, mac: \"b8:27:eb:00:00:09\" }"),
                 "IP 10.42.0.250 of node250 is the server's own address"},
        bad_case{"malformed_mac", with_node("  - { position: 3, mac: \"b8:27:eb:00:00\" }"),
                 "c.yaml:11:25: malformed MAC 'b8:27:eb:00:00'"},
        bad_case{"malformed_serial",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", serial: \"27e247c\" }"),
                 "c.yaml:11:54: malformed serial '27e247c' (expected 8 hex digits"},
        bad_case{"unknown_node_key",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", hostnme: x }"),
                 "c.yaml:11:46: unknown key 'hostnme' in 'nodes[]'"},
        bad_case{"unknown_section_key", std::string("tftp:\n  max_blocksize: 1024\n") + base,
                 "c.yaml:2:3: unknown key 'max_blocksize' in 'tftp'"},
        bad_case{"unknown_top_level", std::string("dchp: {}\n") + base,
                 "c.yaml:1:1: unknown key 'dchp' in 'top level'"},
        bad_case{"pool_overlaps_static",
                 std::string("dhcp: { pool: 10.42.0.2-10.42.0.20 }\n") + base,
                 "IP 10.42.0.2 of node02 lies inside the dynamic pool 10.42.0.2-10.42.0.20"},
        bad_case{"pool_backwards", std::string("dhcp: { pool: 10.42.0.20-10.42.0.2 }\n") + base,
                 "c.yaml:1:15: 'dhcp.pool' runs backwards"},
        bad_case{"bad_mode", std::string("dhcp: { mode: relay }\n") + base,
                 "c.yaml:1:15: 'dhcp.mode' must be one of full, proxy, not 'relay'"},
        bad_case{"bad_duration", std::string("dhcp: { lease_time: forever }\n") + base,
                 "'dhcp.lease_time' is not a duration like 500ms, 2s, 12h: 'forever'"},
        bad_case{"bad_blksize", std::string("tftp: { max_blksize: 4 }\n") + base,
                 "'tftp.max_blksize' is 4; it must be between 8 and 65464"},
        bad_case{"bad_data_nice", std::string("tftp: { data_nice: -21 }\n") + base,
                 "c.yaml:1:20: 'tftp.data_nice' is -21; it must be between -20 and 19"},
        bad_case{"missing_server_ip", "cluster: { subnet: 10.42.0.0/24 }\nnodes: []\n",
                 "'cluster.server_ip' is required"},
        bad_case{"subnet_host_bits", "cluster: { server_ip: 10.42.0.250, subnet: 10.42.0.1/24 }\n",
                 "c.yaml:1:44: 'cluster.subnet' is not a network like 10.42.0.0/24"},
        bad_case{"unknown_power_driver",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", power: { driver: plug, "
                           "channel: 1 } }"),
                 "uses power driver 'plug', which 'power.drivers' does not define"},
        bad_case{"bad_hostname_template",
                 std::string(base).replace(std::string(base).find("defaults:"), 9,
                                           "defaults:\n  hostname: \"n{pos}\""),
                 "unknown variable '{pos}'"},
        bad_case{"yaml_syntax", "cluster: [\n", "c.yaml:2:1:"},
        bad_case{"tftp_prefix_empty",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", tftp_prefix: \"\" }"),
                 "c.yaml:11:59: 'tftp_prefix' '' is 0 characters; it must be 1 to 127"},
        bad_case{"tftp_prefix_too_long",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", tftp_prefix: " +
                           std::string(128, 'a') + " }"),
                 "c.yaml:11:59: 'tftp_prefix' '" + std::string(128, 'a') +
                     "' is 128 characters; it must be 1 to 127"},
        bad_case{"tftp_prefix_control",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", tftp_prefix: "
                           "\"rack\\t1/\" }"),
                 "c.yaml:11:59: 'tftp_prefix' 'rack\t1/' must be printable ASCII"},
        bad_case{"tftp_prefix_nul",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", tftp_prefix: "
                           "\"rack\\0/\" }"),
                 "must be printable ASCII (no control characters, NUL"},
        bad_case{"tftp_prefix_non_ascii",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", tftp_prefix: "
                           "\"r\xc3\xa4"
                           "ck/\" }"),
                 "c.yaml:11:59: 'tftp_prefix' 'r\xc3\xa4"
                 "ck/' must be printable ASCII"},
        bad_case{"tftp_prefix_backslash",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", tftp_prefix: "
                           "'rack1\\07' }"),
                 "c.yaml:11:59: 'tftp_prefix' 'rack1\\07' must not contain a backslash"},
        bad_case{"tftp_prefix_absolute",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", tftp_prefix: "
                           "/rack1/ }"),
                 "c.yaml:11:59: 'tftp_prefix' '/rack1/' must not start with '/'"},
        bad_case{"tftp_prefix_dotdot",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", tftp_prefix: "
                           "rack1/../ }"),
                 "c.yaml:11:59: 'tftp_prefix' 'rack1/../' must not contain a '..' component"},
        bad_case{"tftp_prefix_dotdot_end",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", tftp_prefix: "
                           "rack1/.. }"),
                 "'tftp_prefix' 'rack1/..' must not contain a '..' component"},
        bad_case{"tftp_prefix_serial",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", tftp_prefix: "
                           "\"27E247CC/\" }"),
                 "c.yaml:11:59: 'tftp_prefix' '27E247CC/' looks like an 8-hex serial prefix; the "
                 "Pi's TFTP_PREFIX=0 (serial) mode is already mapped"},
        bad_case{"tftp_prefix_mac",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", tftp_prefix: "
                           "\"dc-a6-32-01-36-c2/x/\" }"),
                 "c.yaml:11:59: 'tftp_prefix' 'dc-a6-32-01-36-c2/x/' looks like a dashed MAC "
                 "prefix; the Pi's TFTP_PREFIX=2 (MAC) mode is already mapped"},
        bad_case{"tftp_prefix_duplicate",
                 std::string(base) +
                     "  - { position: 3, mac: \"b8:27:eb:00:00:09\", tftp_prefix: rack1/ }\n"
                     "  - { position: 4, mac: \"b8:27:eb:00:00:0a\", tftp_prefix: rack1/ }\n",
                 "c.yaml:12:59: duplicate tftp_prefix 'rack1/' (first used at line 11)"},
        bad_case{"tftp_prefix_typo_lists_known_keys",
                 with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", tftp_prefx: a/ }"),
                 "c.yaml:11:46: unknown key 'tftp_prefx' in 'nodes[]' (known keys: position, mac, "
                 "serial, hostname, ip, root, model, power, tftp_prefix)"},
        bad_case{"api_listen", std::string("api: { listen: localhost }\n") + base,
                 "'api.listen' must be ADDRESS:PORT"}),
    [](const auto& row) { return std::string(row.param.name); });

TEST(config, tftp_prefix_is_kept_verbatim) {
    auto cfg = parse_config(
        with_node("  - { position: 3, mac: \"b8:27:eb:00:00:09\", tftp_prefix: \"rack1/n-07/\" }\n"
                  "  - { position: 4, mac: \"b8:27:eb:00:00:0a\", tftp_prefix: \"pi-04_\" }\n"
                  "  - { position: 5, mac: \"b8:27:eb:00:00:0b\", tftp_prefix: \"27e247cc-x/\" }"),
        "c.yaml");
    ASSERT_EQ(cfg.nodes.size(), 5u);
    EXPECT_EQ(cfg.nodes[0].tftp_prefix, "") << "no key, no prefix";
    EXPECT_EQ(cfg.nodes[2].tftp_prefix, "rack1/n-07/");
    EXPECT_EQ(cfg.nodes[3].tftp_prefix, "pi-04_");
    EXPECT_EQ(cfg.nodes[4].tftp_prefix, "27e247cc-x/") << "only a whole serial component clashes";
}

TEST(config, reports_every_error_not_just_the_first) {
    auto diags = errors_of(with_node(
        "  - { position: 3, mac: \"zz\" }\n  - { position: 4, mac: \"b8:27:eb:fc:6a:59\" }"));
    EXPECT_EQ(diags.size(), 2u);
}

TEST(config, load_resolves_relative_paths_against_the_file) {
    auto cfg = load_config(NETBOOTD_SOURCE_DIR "/configs/lab.yaml");
    EXPECT_EQ(cfg.tftp.templates_dir,
              std::filesystem::path(NETBOOTD_SOURCE_DIR "/rootfs-templates/boot"));
}

TEST(config, shipped_examples_are_valid) {
    auto ines = load_config(NETBOOTD_SOURCE_DIR "/configs/ines-60.yaml");
    EXPECT_EQ(ines.nodes.size(), 60u);
    EXPECT_EQ(ines.cluster.server_ip.to_string(), "10.42.0.250");
    // The reference documentation's own examples: position 2 has serial 27e247cc, node35's MAC.
    EXPECT_EQ(ines.nodes[1].mac.to_string(), "b8:27:eb:e2:47:cc");
    EXPECT_EQ(ines.nodes[1].serial, 0x27e247ccu);
    EXPECT_EQ(ines.nodes[34].hostname, "node35");
    EXPECT_EQ(ines.nodes[34].mac.to_string(), "b8:27:eb:fc:6a:59");
    EXPECT_EQ(ines.nodes[59].ip.to_string(), "10.42.0.60");
    EXPECT_NO_THROW(load_config(NETBOOTD_SOURCE_DIR "/configs/lab.yaml"));
}

TEST(config, missing_file_names_the_file) {
    try {
        load_config("/nonexistent/cluster.yaml");
        FAIL();
    } catch (const config_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("/nonexistent/cluster.yaml: cannot open file"));
    }
}
