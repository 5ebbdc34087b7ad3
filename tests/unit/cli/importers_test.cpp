#include "netbootd/cli/importers.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace netbootd;
using namespace netbootd::cli;
using ::testing::HasSubstr;

TEST(import_dnsmasq, reference_cluster_mac_table) {
    // Lines as the reference cluster's /etc/dnsmasq.d/mac_table writes them.
    auto r = import_nodes("# Cluster nodes\n"
                          "dhcp-host=b8:27:eb:fc:6a:59,node35,10.42.0.35,infinite\n"
                          "dhcp-host=b8:27:eb:e2:47:cc,node02,10.42.0.2,infinite\n"
                          "dhcp-range=10.42.0.1,10.42.0.150,255.255.255.0,infinite\n",
                          "mac_table", import_format::dnsmasq);
    ASSERT_TRUE(r.errors.empty());
    ASSERT_EQ(r.nodes.size(), 2u);
    EXPECT_EQ(r.nodes[0].position, 2) << "sorted by position";
    EXPECT_EQ(r.nodes[1].position, 35);
    EXPECT_EQ(r.nodes[1].mac.to_string(), "b8:27:eb:fc:6a:59");
    EXPECT_EQ(r.nodes[1].hostname, "node35");
    EXPECT_EQ(r.nodes[1].ip->to_string(), "10.42.0.35");
    EXPECT_EQ(r.skipped, 1);
    EXPECT_EQ(to_nodes_yaml(r, "mac_table"),
              "# Imported from mac_table by netbootctl: 2 nodes.\nnodes:\n"
              "  - { position: 2, mac: \"b8:27:eb:e2:47:cc\", hostname: node02, ip: 10.42.0.2 }  # "
              "position from hostname\n"
              "  - { position: 35, mac: \"b8:27:eb:fc:6a:59\", hostname: node35, ip: 10.42.0.35 }  "
              "# position from hostname\n");
}

TEST(import_dnsmasq, ip_only_and_comment_as_in_the_two_pi_guide) {
    auto r = import_nodes("dhcp-host=b8:27:eb:00:00:01,10.0.0.49 #rpb\n", "dnsmasq.conf",
                          import_format::dnsmasq);
    ASSERT_TRUE(r.errors.empty());
    ASSERT_EQ(r.nodes.size(), 1u);
    EXPECT_EQ(r.nodes[0].position, 49);
    EXPECT_EQ(r.nodes[0].position_from, "ip");
    EXPECT_FALSE(r.nodes[0].hostname);
}

TEST(import_dnsmasq, errors_are_located_and_nothing_is_guessed) {
    auto r = import_nodes("dhcp-host=node1,10.42.0.1\n"
                          "dhcp-host=b8:27:eb:00:00:01,node1,set:pi\n"
                          "dhcp-host=b8:27:eb:00:00:01,node2\n"
                          "dhcp-host=b8:27:eb:00:00:03,no_such!name\n",
                          "mac_table", import_format::dnsmasq);
    ASSERT_EQ(r.errors.size(), 3u);
    EXPECT_EQ(r.errors[0].to_string(), "mac_table:1:1: dhcp-host line has no MAC address "
                                       "(client-id hosts cannot be netbooted by MAC)");
    EXPECT_THAT(r.errors[1].to_string(),
                HasSubstr("mac_table:3:1: duplicate MAC b8:27:eb:00:00:01 (first at line 2)"));
    EXPECT_THAT(r.errors[2].to_string(), HasSubstr("mac_table:4:1: cannot read 'no_such!name'"));
}

TEST(import_table, reference_cluster_mac_nodes) {
    // /opt/mac_nodes as the reference docs show it: "2       b8:27:eb:e2:47:cc".
    auto r = import_nodes("1\tb8:27:eb:00:10:01\n2       b8:27:eb:e2:47:cc\n", "mac_nodes",
                          import_format::table);
    ASSERT_TRUE(r.errors.empty());
    ASSERT_EQ(r.nodes.size(), 2u);
    EXPECT_EQ(r.nodes[1].position, 2);
    EXPECT_EQ(r.nodes[1].mac.to_string(), "b8:27:eb:e2:47:cc");
    EXPECT_THAT(to_nodes_yaml(r, "mac_nodes"),
                HasSubstr("  - { position: 2, mac: \"b8:27:eb:e2:47:cc\" }\n"));
}

TEST(import_table, bad_lines) {
    auto r =
        import_nodes("x b8:27:eb:00:10:01\n2 zz\n3\n2 b8:27:eb:00:10:02\n2 b8:27:eb:00:10:03\n",
                     "t", import_format::table);
    ASSERT_EQ(r.errors.size(), 4u);
    EXPECT_THAT(r.errors[0].message, HasSubstr("'x' is not a position"));
    EXPECT_THAT(r.errors[1].message, HasSubstr("'zz' is not a MAC"));
    EXPECT_THAT(r.errors[2].message, HasSubstr("expected 'POSITION MAC'"));
    EXPECT_THAT(r.errors[3].message,
                HasSubstr("position 2 (from the column) is already taken by line 4"));
}

TEST(import_ethers, hostnames_ips_and_order) {
    auto r = import_nodes(
        "b8:27:eb:00:00:0a node10\nb8:27:eb:00:00:0b 10.42.0.11\nb8:27:eb:00:00:0c gateway\n",
        "/etc/ethers", import_format::ethers);
    ASSERT_TRUE(r.errors.empty());
    ASSERT_EQ(r.nodes.size(), 3u);
    EXPECT_EQ(r.nodes[0].position, 1);
    EXPECT_EQ(r.nodes[0].position_from, "order") << "no number in 'gateway': next free position";
    EXPECT_EQ(r.nodes[1].position, 10);
    EXPECT_EQ(r.nodes[2].position, 11);
}
