#include "netbootd/nfs/paths.hpp"

#include <gtest/gtest.h>

#include "test_config.hpp"

using namespace netbootd;
using namespace netbootd::nfs;

TEST(nfs_paths, safe_component_table) {
    struct row {
        std::string name;
        bool ok;
    };
    for (const auto& r : std::vector<row>{{"node02", true},
                                          {"red001", true},
                                          {"", false},
                                          {".", false},
                                          {"..", false},
                                          {".overlay", false},
                                          {"a/b", false},
                                          {"../etc", false},
                                          {"/etc", false},
                                          {std::string("a\0b", 3), false},
                                          {std::string(255, 'a'), true},
                                          {std::string(256, 'a'), false}})
        EXPECT_EQ(is_safe_component(r.name), r.ok) << "name: " << r.name;
}

TEST(nfs_paths, root_path_per_mode) {
    auto cfg = test::make_config("/srv/t");
    EXPECT_EQ(node_root_path(cfg, cfg.nodes[0]).value(), "/srv/t/roots/base") << "shared";
    EXPECT_EQ(node_root_path(cfg, cfg.nodes[1]).value(), "/srv/t/roots/node02") << "overlay";
    EXPECT_EQ(node_root_path(cfg, cfg.nodes[2]).value(), "/srv/t/roots/node03") << "clone";
    auto l = layout_for(cfg, cfg.nodes[1]).value();
    EXPECT_EQ(l.upper, "/srv/t/roots/.overlay/node02/upper");
    EXPECT_EQ(l.work, "/srv/t/roots/.overlay/node02/work");
    EXPECT_TRUE(l.content.empty());
}

TEST(nfs_paths, hostile_hostnames_never_escape_roots_dir) {
    auto cfg = test::make_config("/srv/t");
    for (const std::string& h :
         std::vector<std::string>{"..", "../../etc", "a/../../x", "/etc/passwd", ".overlay", "",
                                  std::string("x\0y", 3)}) {
        node n = cfg.nodes[1];
        n.hostname = h;
        EXPECT_FALSE(node_root_path(cfg, n)) << h;
        EXPECT_FALSE(layout_for(cfg, n)) << h;
    }
}

TEST(nfs_paths, a_node_named_like_the_base_is_refused) {
    auto cfg = test::make_config("/srv/t");
    node n = cfg.nodes[1];
    n.hostname = "base";
    auto r = node_root_path(cfg, n);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("base root"), std::string::npos) << r.error();
}

TEST(nfs_paths, content_dir_per_node) {
    auto cfg = test::make_config("/srv/t", "  content_dir: /srv/t/nodes\n");
    EXPECT_EQ(layout_for(cfg, cfg.nodes[0]).value().content, "/srv/t/nodes/node01");
}

TEST(nfs_paths, is_within) {
    EXPECT_TRUE(is_within("/a/b/c", "/a/b"));
    EXPECT_TRUE(is_within("/a/b", "/a/b/"));
    EXPECT_FALSE(is_within("/a/bc", "/a/b"));
    EXPECT_FALSE(is_within("/a/b/../c", "/a/b"));
}
