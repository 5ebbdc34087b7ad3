#include "netbootd/nfs/exports.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "netbootd/nfs/backend.hpp"
#include "test_config.hpp"

using namespace netbootd;
using namespace netbootd::nfs;

namespace {

// Compares with tests/data/nfs/<name>; NETBOOTD_UPDATE_GOLDEN=1 rewrites the file instead.
void expect_golden(const std::string& name, const std::string& actual) {
    const std::string path = std::string(NETBOOTD_TEST_DATA) + "/nfs/" + name;
    if (std::getenv("NETBOOTD_UPDATE_GOLDEN")) {
        std::ofstream(path, std::ios::binary) << actual;
        return;
    }
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in) << "missing golden file " << path;
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), actual) << "golden " << path
                                << " differs (NETBOOTD_UPDATE_GOLDEN=1 to regenerate)";
}

std::vector<export_entry> lab_plan() {
    auto cfg = test::make_config("/srv/t", "  content_dir: /srv/t/nodes\n");
    return plan_exports(cfg, cfg.nodes);
}

} // namespace

TEST(nfs_exports, kernel_golden) {
    expect_golden("exports.kernel", render_kernel_exports(lab_plan()));
}

TEST(nfs_exports, ganesha_golden) {
    expect_golden("exports.ganesha", render_ganesha_exports(lab_plan()));
}

TEST(nfs_exports, plan_golden) {
    expect_golden("exports.plan", render_plan(lab_plan()));
}

TEST(nfs_exports, each_root_goes_to_its_node_only) {
    const auto plan = lab_plan();
    int roots = 0;
    for (const auto& e : plan) {
        std::vector<export_client> nodes;
        int checkers = 0;
        for (const auto& c : e.clients) {
            if (c.checker) {
                ++checkers;
                EXPECT_EQ(c.ip.to_string(), "10.42.0.250");
                EXPECT_TRUE(c.read_only) << "the server only reads, for the checks";
                EXPECT_FALSE(c.no_root_squash);
            } else {
                nodes.push_back(c);
            }
        }
        EXPECT_EQ(checkers, 1) << e.path;
        if (e.role == "root" || e.role == "content") {
            ASSERT_EQ(nodes.size(), 1u) << e.path;
            EXPECT_EQ(e.path.filename().string(), nodes[0].node);
            EXPECT_FALSE(nodes[0].read_only);
            EXPECT_TRUE(nodes[0].no_root_squash) << "the node runs as root on its root";
            ++roots;
        }
        if (e.role == "base") {
            ASSERT_EQ(nodes.size(), 2u) << "the two shared nodes";
            for (const auto& c : nodes)
                EXPECT_TRUE(c.read_only) << "shared base is read-only by default";
        }
        if (e.role == "boot") {
            EXPECT_EQ(nodes.size(), 4u) << "every node mounts the boot files";
        }
    }
    EXPECT_EQ(roots, 2 + 4) << "overlay + clone roots, four content dirs";
}

TEST(nfs_exports, shared_writable_makes_base_rw) {
    auto cfg = test::make_config("/srv/t", "  shared_writable: true\n");
    for (const auto& e : plan_exports(cfg, cfg.nodes))
        if (e.role == "base") {
            for (const auto& c : e.clients)
                EXPECT_EQ(c.read_only, c.checker);
        }
}

TEST(nfs_exports, fsid_is_stable_per_path_and_unique) {
    const auto a = lab_plan();
    auto cfg = test::make_config("/srv/t", "  content_dir: /srv/t/nodes\n");
    // A smaller cluster: the surviving exports keep their numbers.
    std::vector<node> fewer(cfg.nodes.begin(), cfg.nodes.begin() + 2);
    const auto b = plan_exports(cfg, fewer);
    std::set<std::uint32_t> fsids;
    std::set<std::uint16_t> ids;
    for (const auto& e : a) {
        EXPECT_NE(e.fsid, 0u);
        EXPECT_NE(e.export_id, 0u);
        EXPECT_TRUE(fsids.insert(e.fsid).second) << "duplicate fsid " << e.fsid;
        EXPECT_TRUE(ids.insert(e.export_id).second);
        for (const auto& f : b) {
            if (f.path == e.path) {
                EXPECT_EQ(f.fsid, e.fsid) << e.path;
                EXPECT_EQ(f.export_id, e.export_id) << e.path;
            }
        }
    }
    EXPECT_EQ(path_hash("/srv/t/roots/node02"), path_hash("/srv/t/roots//node02/."));
}

TEST(nfs_exports, unsafe_nodes_are_reported_not_exported) {
    auto cfg = test::make_config("/srv/t");
    cfg.nodes[1].hostname = "../../etc";
    std::vector<std::string> errors;
    const auto plan = plan_exports(cfg, cfg.nodes, &errors);
    ASSERT_EQ(errors.size(), 1u);
    for (const auto& e : plan)
        EXPECT_TRUE(e.path.string().rfind("/srv/t/", 0) == 0) << e.path;
}

TEST(nfs_exports, backend_files) {
    auto cfg = test::make_config("/srv/t");
    EXPECT_TRUE(exports_file(cfg).empty());
    cfg.nfs.backend = nfs_backend::kernel;
    EXPECT_EQ(exports_file(cfg), "/etc/exports.d/netbootd.exports");
    cfg.nfs.backend = nfs_backend::ganesha;
    EXPECT_EQ(exports_file(cfg), "/etc/ganesha/netbootd-exports.conf");
    cfg.nfs.exports_file = "/tmp/x.conf";
    EXPECT_EQ(exports_file(cfg), "/tmp/x.conf");
}

TEST(nfs_exports, none_backend_applies_nothing_and_reports) {
    auto cfg = test::make_config("/srv/t");
    std::vector<event> seen;
    auto r = apply_exports(cfg, plan_exports(cfg, cfg.nodes), [&](event e) { seen.push_back(e); });
    ASSERT_TRUE(r) << r.error();
    EXPECT_NE(r->text.find("/srv/t/roots/node02"), std::string::npos);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].kind, "nfs.exports_applied");
}

TEST(nfs_exports, kernel_backend_writes_atomically_and_reports_exportfs_failure) {
    auto dir = std::filesystem::temp_directory_path() / ("nfs-exp-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto cfg = test::make_config("/srv/t");
    cfg.nfs.backend = nfs_backend::kernel;
    cfg.nfs.exports_file = dir / "netbootd.exports";
    std::vector<event> seen;
    const auto plan = plan_exports(cfg, cfg.nodes);
    auto r = apply_exports(cfg, plan, [&](event e) { seen.push_back(e); });
    // No kernel NFS server here: exportfs is missing or fails; either way the file is written
    // and the failure is reported, not hidden.
    std::ifstream in(cfg.nfs.exports_file);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), render_kernel_exports(plan));
    if (!r) {
        ASSERT_FALSE(seen.empty());
        EXPECT_EQ(seen.back().kind, "nfs.exports_failed");
        EXPECT_NE(r.error().find("exportfs"), std::string::npos) << r.error();
    }
    std::filesystem::remove_all(dir);
}
