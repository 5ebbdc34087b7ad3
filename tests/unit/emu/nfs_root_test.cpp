#include "netbootd/emu/nfs_root.hpp"

#include <gtest/gtest.h>

namespace netbootd::emu {
namespace {

const ipv4_address tftp_server = *ipv4_address::parse("10.42.0.250");

TEST(nfs_root, server_path_and_options_from_a_rendered_cmdline) {
    const auto t = nfsroot_from_cmdline(
        "console=serial0,115200 root=/dev/nfs nfsroot=10.42.0.9:/srv/roots/node02,vers=3,tcp rw "
        "ip=dhcp rootwait hostname=node02\n",
        tftp_server);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->server, "10.42.0.9");
    EXPECT_EQ(t->path, "/srv/roots/node02");
    EXPECT_EQ(t->options, "vers=3,tcp");
}

TEST(nfs_root, without_a_server_the_default_one_is_used) {
    const auto t =
        nfsroot_from_cmdline("root=/dev/nfs nfsroot=/srv/roots/base ip=dhcp", tftp_server);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->server, "10.42.0.250");
    EXPECT_EQ(t->path, "/srv/roots/base");
    EXPECT_EQ(t->options, "");
}

TEST(nfs_root, the_last_nfsroot_wins_as_in_the_kernel) {
    const auto t =
        nfsroot_from_cmdline("nfsroot=1.2.3.4:/old nfsroot=10.42.0.250:/new,vers=3", tftp_server);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/new");
}

TEST(nfs_root, missing_or_relative_paths_give_nothing) {
    EXPECT_FALSE(nfsroot_from_cmdline("root=/dev/mmcblk0p2 rootwait", tftp_server));
    EXPECT_FALSE(nfsroot_from_cmdline("nfsroot=10.42.0.250:relative/path", tftp_server));
    EXPECT_FALSE(nfsroot_from_cmdline("nfsroot=10.42.0.250:,vers=3", tftp_server));
    EXPECT_FALSE(nfsroot_from_cmdline("", tftp_server));
}

TEST(nfs_root, cmdline_value_takes_the_last_word_with_the_key) {
    EXPECT_EQ(cmdline_value("a=1 hostname=pi01 b=2 hostname=pi02", "hostname"), "pi02");
    EXPECT_EQ(cmdline_value("myhostname=x", "hostname"), "");
    EXPECT_EQ(cmdline_value("hostname=", "hostname"), "");
}

} // namespace
} // namespace netbootd::emu
