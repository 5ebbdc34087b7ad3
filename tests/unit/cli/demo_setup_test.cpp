#include "netbootd/cli/demo_setup.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "netbootd/core/config.hpp"
#include "netbootd/core/registry.hpp"

using namespace netbootd;
using namespace netbootd::cli::demo;
using ::testing::HasSubstr;

TEST(demo_setup, plan_mixes_generations_with_pi_identities) {
    auto p = make_plan(6, 4, "/run/x");
    ASSERT_EQ(p.nodes.size(), 6u);
    EXPECT_EQ(p.nodes[0].emu_model, "pi3b-rom");
    EXPECT_EQ(p.nodes[1].emu_model, "pi4");
    EXPECT_EQ(p.nodes[2].emu_model, "pi5");
    // A Pi 3's MAC is b8:27:eb followed by the serial's low three bytes.
    EXPECT_EQ(p.nodes[0].mac.to_string(), "b8:27:eb:00:00:01");
    EXPECT_EQ(p.nodes[0].serial & 0xffffffu, 0x000001u);
    EXPECT_EQ(p.nodes[1].mac.oui(), 0xdca632u);
    EXPECT_EQ(p.nodes[2].mac.oui(), 0x2ccf67u);
    EXPECT_TRUE(p.nodes[3].broken);
    EXPECT_EQ(std::count_if(p.nodes.begin(), p.nodes.end(), [](auto& n) { return n.broken; }), 1);
}

TEST(demo_setup, generated_config_passes_validation) {
    for (int n : {1, 6, 60}) {
        auto p = make_plan(n, n >= 4 ? 4 : 0, "/run/netbootd-demo");
        auto cfg = parse_config(render_config(p), "demo.yaml");
        registry r(std::move(cfg));
        ASSERT_EQ(r.nodes().size(), static_cast<std::size_t>(n));
        for (const auto& dn : p.nodes) {
            const node* got = r.by_mac(dn.mac);
            ASSERT_NE(got, nullptr);
            EXPECT_EQ(got->position, dn.position);
            EXPECT_EQ(got->hostname, dn.hostname);
            EXPECT_EQ(got->ip, dn.ip);
            EXPECT_EQ(got->serial, dn.serial);
        }
        EXPECT_EQ(r.config().api.unix_socket, std::filesystem::path("/run/netbootd-demo/api.sock"));
    }
}

TEST(demo_setup, with_nfs_the_nodes_get_overlay_roots_served_by_ganesha) {
    auto p = make_plan(6, 4, "/tmp/demo");
    p.nfs = true;
    registry r(parse_config(render_config(p), "demo.yaml"));
    const auto& nfs = r.config().nfs;
    EXPECT_EQ(nfs.backend, nfs_backend::ganesha);
    EXPECT_EQ(nfs.exports_file, std::filesystem::path("/tmp/demo/ganesha/netbootd-exports.conf"));
    EXPECT_EQ(nfs.ganesha_pid_file, std::filesystem::path("/tmp/demo/ganesha/ganesha.pid"));
    for (const auto& n : r.nodes())
        EXPECT_EQ(n.root, root_mode::overlay) << n.hostname;
    const auto files = make_files(p);
    auto find = [&](const std::string& path) -> const demo_file* {
        for (const auto& f : files)
            if (f.path == path)
                return &f;
        return nullptr;
    };
    ASSERT_NE(find("templates/root/etc/hostname"), nullptr);
    EXPECT_EQ(find("templates/root/etc/hostname")->content, "{hostname}\n");
    ASSERT_NE(find("ganesha/ganesha.conf"), nullptr);
    EXPECT_THAT(find("ganesha/ganesha.conf")->content, HasSubstr("Bind_addr = 10.42.0.250;"));
    EXPECT_THAT(find("ganesha/ganesha.conf")->content,
                HasSubstr("%include \"/tmp/demo/ganesha/netbootd-exports.conf\""));

    p.nfs = false;
    registry without(parse_config(render_config(p), "demo.yaml"));
    EXPECT_EQ(without.config().nfs.backend, nfs_backend::none);
    for (const auto& n : without.nodes())
        EXPECT_EQ(n.root, root_mode::shared) << n.hostname;
}

TEST(demo_setup, files_give_the_broken_node_a_missing_kernel) {
    auto p = make_plan(6, 4, "/run/x");
    auto files = make_files(p);
    bool have_kernel8 = false, broken_cfg = false, custom_kernel_present = false;
    for (const auto& f : files) {
        have_kernel8 = have_kernel8 || f.path == "boot/kernel8.img";
        if (f.path == "nodes/pi04/config.txt") {
            broken_cfg = true;
            EXPECT_THAT(f.content, HasSubstr("kernel=" + p.broken_kernel));
        }
        custom_kernel_present =
            custom_kernel_present || f.path.find(p.broken_kernel) != std::string::npos;
    }
    EXPECT_TRUE(have_kernel8);
    EXPECT_TRUE(broken_cfg);
    EXPECT_FALSE(custom_kernel_present)
        << "the kernel the broken node asks for must not exist anywhere";
}
