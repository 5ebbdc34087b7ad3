// Root lifecycle on real directories and overlay mounts (needs root: mount(2), chown, mknod).
#include "netbootd/nfs/roots.hpp"

#include <chrono>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "netbootd/nfs/fsutil.hpp"
#include "test_config.hpp"

using namespace netbootd;
using namespace netbootd::nfs;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void put(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}

class roots_fixture : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0)
            GTEST_SKIP() << "needs root (overlay mounts, chown, mknod); CI runs as root";
        char t[] = "/tmp/nfs-roots.XXXXXX";
        dir_ = ::mkdtemp(t);
        cfg_ = test::make_config(dir_);
        const auto base = cfg_.nfs.base_root;
        put(base / "sbin/init", "#!/bin/sh\n");
        ::chmod((base / "sbin/init").c_str(), 0755);
        put(base / "etc/fstab", "proc /proc proc defaults 0 0\n");
        put(base / "etc/hostname", "raspberrypi\n");
        put(base / "usr/bin/a", "aaa");
        put(base / "usr/lib/old/x", "x");
        fs::create_symlink("usr/bin", base / "bin");
        mgr_ = std::make_unique<root_manager>(cfg_, [this](event e) { events_.push_back(e); });
    }
    void TearDown() override {
        if (mgr_)
            for (const auto& n : cfg_.nodes)
                (void)mgr_->unmount(n);
        if (!dir_.empty())
            fs::remove_all(dir_);
    }
    bool saw(const std::string& kind) const {
        for (const auto& e : events_)
            if (e.kind == kind)
                return true;
        return false;
    }
    const node& n(int position) const { return cfg_.nodes[static_cast<std::size_t>(position - 1)]; }

    fs::path dir_;
    cluster_config cfg_;
    std::unique_ptr<root_manager> mgr_;
    std::vector<event> events_;
};

} // namespace

TEST_F(roots_fixture, copy_tree_keeps_owner_mode_links_xattrs_and_times) {
    const auto src = dir_ / "src";
    put(src / "f", "data");
    ::chown((src / "f").c_str(), 1000, 1001);
    ::chmod((src / "f").c_str(), 04750);
    ASSERT_EQ(::link((src / "f").c_str(), (src / "hard").c_str()), 0);
    fs::create_symlink("f", src / "link");
    ASSERT_EQ(::lsetxattr((src / "f").c_str(), "user.test", "v", 1, 0), 0);
    ASSERT_EQ(::mknod((src / "wh").c_str(), S_IFCHR, 0), 0);
    const struct timespec times[2] = {{1000000000, 0}, {1000000000, 5}};
    ::utimensat(AT_FDCWD, (src / "f").c_str(), times, 0);
    auto r = copy_tree(src, dir_ / "dst");
    ASSERT_TRUE(r) << r.error();
    struct stat a, b, h;
    ASSERT_EQ(::lstat((dir_ / "dst/f").c_str(), &a), 0);
    ASSERT_EQ(::lstat((src / "f").c_str(), &b), 0);
    EXPECT_EQ(a.st_uid, 1000u);
    EXPECT_EQ(a.st_gid, 1001u);
    EXPECT_EQ(a.st_mode & 07777, 04750u) << "setuid survives the chown";
    EXPECT_EQ(a.st_mtim.tv_sec, 1000000000);
    EXPECT_EQ(a.st_mtim.tv_nsec, 5);
    ASSERT_EQ(::lstat((dir_ / "dst/hard").c_str(), &h), 0);
    EXPECT_EQ(h.st_ino, a.st_ino) << "hard links stay links";
    EXPECT_EQ(fs::read_symlink(dir_ / "dst/link"), "f");
    char v[4] = {};
    EXPECT_EQ(::lgetxattr((dir_ / "dst/f").c_str(), "user.test", v, sizeof v), 1);
    EXPECT_TRUE(is_whiteout(dir_ / "dst/wh"));
    EXPECT_EQ(slurp(dir_ / "dst/f"), "data");
}

TEST_F(roots_fixture, overlay_lifecycle_prepare_diff_promote_reset) {
    const auto t0 = std::chrono::steady_clock::now();
    auto a = mgr_->prepare(n(2));
    const auto ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(*a, prepare_action::create_overlay);
    const auto root = cfg_.nfs.roots_dir / "node02";
    EXPECT_TRUE(is_mount_point(root));
    EXPECT_EQ(slurp(root / "etc/hostname"), "node02\n");
    EXPECT_EQ(slurp(cfg_.nfs.base_root / "etc/hostname"), "raspberrypi\n") << "base untouched";
    EXPECT_EQ(slurp(root / "usr/bin/a"), "aaa") << "the base shows through";
    EXPECT_TRUE(saw("nfs.root_ready"));
    std::printf("overlay ready in %.1f ms\n", ms);

    EXPECT_EQ(*mgr_->prepare(n(2)), prepare_action::ready) << "idempotent";

    // The node works: adds, changes, deletes.
    put(root / "etc/motd", "tested\n");
    put(root / "usr/bin/a", "AAA");
    fs::remove(root / "usr/lib/old/x");
    fs::remove(root / "usr/lib/old");
    auto d = mgr_->diff(n(2));
    ASSERT_TRUE(d) << d.error();
    std::map<std::string, root_change> by;
    for (const auto& c : *d)
        by[c.path] = c;
    ASSERT_TRUE(by.count("/etc/motd"));
    EXPECT_EQ(by["/etc/motd"].what, root_change::kind::added);
    EXPECT_EQ(by["/usr/bin/a"].what, root_change::kind::modified);
    EXPECT_EQ(by["/usr/lib/old"].what, root_change::kind::deleted);
    EXPECT_TRUE(by["/etc/hostname"].per_node);

    // Dry run changes nothing.
    ASSERT_TRUE(mgr_->promote(n(2), true));
    EXPECT_FALSE(fs::exists(cfg_.nfs.base_root / "etc/motd"));

    auto p = mgr_->promote(n(2), false);
    ASSERT_TRUE(p) << p.error();
    EXPECT_EQ(slurp(cfg_.nfs.base_root / "etc/motd"), "tested\n");
    EXPECT_EQ(slurp(cfg_.nfs.base_root / "usr/bin/a"), "AAA");
    EXPECT_FALSE(fs::exists(cfg_.nfs.base_root / "usr/lib/old"));
    EXPECT_EQ(slurp(cfg_.nfs.base_root / "etc/hostname"), "raspberrypi\n")
        << "per-node files are never promoted";
    EXPECT_TRUE(is_mount_point(root)) << "the node is back on an empty layer";
    EXPECT_EQ(slurp(root / "etc/motd"), "tested\n");
    EXPECT_TRUE(saw("nfs.root_promoted"));

    // Reset discards the node's changes.
    put(root / "junk", "j");
    ASSERT_TRUE(mgr_->reset(n(2)));
    EXPECT_FALSE(fs::exists(root / "junk"));
    EXPECT_EQ(slurp(root / "etc/hostname"), "node02\n") << "re-rendered after reset";
    auto d2 = mgr_->diff(n(2));
    ASSERT_TRUE(d2);
    for (const auto& c : *d2)
        EXPECT_TRUE(c.per_node) << c.path << " should be gone after reset";
}

TEST_F(roots_fixture, overlay_survives_an_unmount_with_its_changes) {
    ASSERT_TRUE(mgr_->prepare(n(2)));
    const auto root = cfg_.nfs.roots_dir / "node02";
    put(root / "etc/kept", "k");
    ASSERT_TRUE(mgr_->unmount(n(2)));
    EXPECT_FALSE(is_mount_point(root));
    auto a = mgr_->prepare(n(2));
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(*a, prepare_action::mount_overlay) << "like after a server reboot";
    EXPECT_EQ(slurp(root / "etc/kept"), "k");
}

TEST_F(roots_fixture, clone_lifecycle_and_clone_from) {
    auto a = mgr_->prepare(n(3));
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(*a, prepare_action::create_clone);
    const auto root = cfg_.nfs.roots_dir / "node03";
    EXPECT_FALSE(is_mount_point(root));
    EXPECT_EQ(slurp(root / "etc/hostname"), "node03\n");
    EXPECT_EQ(fs::read_symlink(root / "bin"), "usr/bin");
    EXPECT_TRUE(saw("nfs.root_copied"));

    put(root / "opt/tool", "t");
    fs::remove(root / "usr/bin/a");
    auto d = mgr_->diff(n(3));
    ASSERT_TRUE(d) << d.error();
    std::map<std::string, root_change> by;
    for (const auto& c : *d)
        by[c.path] = c;
    EXPECT_EQ(by["/opt"].what, root_change::kind::added);
    EXPECT_EQ(by["/usr/bin/a"].what, root_change::kind::deleted);
    EXPECT_TRUE(by["/etc/hostname"].per_node);

    ASSERT_TRUE(mgr_->promote(n(3), false));
    EXPECT_EQ(slurp(cfg_.nfs.base_root / "opt/tool"), "t");
    EXPECT_FALSE(fs::exists(cfg_.nfs.base_root / "usr/bin/a"));
    EXPECT_EQ(slurp(cfg_.nfs.base_root / "etc/hostname"), "raspberrypi\n");

    put(root / "junk", "j");
    ASSERT_TRUE(mgr_->reset(n(3)));
    EXPECT_FALSE(fs::exists(root / "junk"));
    EXPECT_EQ(slurp(root / "opt/tool"), "t") << "reset copies the (promoted) base";

    // node03 (clone) from node02 (overlay): a full copy of node02's view, with its own hostname.
    ASSERT_TRUE(mgr_->prepare(n(2)));
    put(cfg_.nfs.roots_dir / "node02/etc/from-two", "2");
    ASSERT_TRUE(mgr_->clone_from(n(3), n(2)));
    EXPECT_EQ(slurp(root / "etc/from-two"), "2");
    EXPECT_EQ(slurp(root / "etc/hostname"), "node03\n");
    EXPECT_TRUE(saw("nfs.root_cloned"));
}

TEST_F(roots_fixture, overlay_clone_from_overlay_copies_the_layer) {
    node other = n(2);
    other.position = 5;
    other.hostname = "node05";
    ASSERT_TRUE(mgr_->prepare(n(2)));
    ASSERT_TRUE(mgr_->prepare(other));
    put(cfg_.nfs.roots_dir / "node02/etc/two", "2");
    fs::remove(cfg_.nfs.roots_dir / "node02/usr/bin/a");
    ASSERT_TRUE(mgr_->clone_from(other, n(2)));
    const auto root = cfg_.nfs.roots_dir / "node05";
    EXPECT_TRUE(is_mount_point(root));
    EXPECT_EQ(slurp(root / "etc/two"), "2");
    EXPECT_FALSE(fs::exists(root / "usr/bin/a")) << "the whiteout came along";
    EXPECT_EQ(slurp(root / "etc/hostname"), "node05\n");
    (void)mgr_->unmount(other);
}

TEST_F(roots_fixture, refusals) {
    EXPECT_FALSE(mgr_->reset(n(1))) << "shared nodes have nothing to reset";
    EXPECT_FALSE(mgr_->diff(n(1)));
    EXPECT_FALSE(mgr_->clone_from(n(1), n(2)));
    EXPECT_FALSE(mgr_->clone_from(n(2), n(2)));
    // A clone directory where an overlay is wanted: refuse, never guess.
    put(cfg_.nfs.roots_dir / "node02/etc/x", "x");
    auto a = mgr_->prepare(n(2));
    EXPECT_FALSE(a);
    EXPECT_TRUE(saw("nfs.root_failed"));
    // No base at all.
    fs::remove_all(cfg_.nfs.base_root);
    EXPECT_FALSE(mgr_->prepare(n(3)));
}
