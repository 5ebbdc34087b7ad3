#include "netbootd/nfs/render.hpp"

#include <fstream>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "test_config.hpp"

using namespace netbootd;
using namespace netbootd::nfs;

namespace {

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct tmpdir {
    std::filesystem::path path;
    tmpdir() {
        char t[] = "/tmp/nfs-render.XXXXXX";
        path = ::mkdtemp(t);
    }
    ~tmpdir() { std::filesystem::remove_all(path); }
};

const rendered_file* find(const std::vector<rendered_file>& fs, const std::string& p) {
    for (const auto& f : fs)
        if (f.path == p)
            return &f;
    return nullptr;
}

} // namespace

TEST(nfs_render, node_variables_match_the_tftp_set) {
    auto cfg = test::make_config("/srv/t");
    auto v = node_vars(cfg, cfg.nodes[1]);
    for (const char* k : {"hostname", "ip", "position", "server_ip", "nfs_root", "serial", "mac"})
        EXPECT_TRUE(v.count(k)) << k;
    EXPECT_EQ(std::get<std::string>(v["nfs_root"]), "/srv/t/roots/node02");
    EXPECT_EQ(std::get<std::string>(v["serial"]), "6aee7243");
    EXPECT_EQ(std::get<std::string>(v["ntp_server"]), "10.42.0.251");
    EXPECT_EQ(std::get<std::string>(v["tmpfs_mounts"]), "") << "overlay roots are writable";
    EXPECT_EQ(std::get<std::string>(node_vars(cfg, cfg.nodes[0])["tmpfs_mounts"]),
              shared_tmpfs_mounts());
}

TEST(nfs_render, shipped_templates_for_an_overlay_node) {
    auto cfg = test::make_config("/srv/t");
    auto files = render_tree(cfg.nfs.templates_dir, node_vars(cfg, cfg.nodes[1]));
    ASSERT_TRUE(files) << files.error();
    ASSERT_NE(find(*files, "etc/hostname"), nullptr);
    EXPECT_EQ(find(*files, "etc/hostname")->content, "node02\n");
    const auto& fstab = find(*files, "etc/fstab")->content;
    EXPECT_NE(fstab.find("10.42.0.250:/srv/t/boot /boot/firmware nfs defaults,vers=3"),
              std::string::npos)
        << fstab;
    EXPECT_EQ(fstab.find("tmpfs"), std::string::npos) << fstab;
    EXPECT_EQ(fstab.find("mmcblk"), std::string::npos);
    EXPECT_NE(find(*files, "etc/hosts")->content.find("127.0.1.1\tnode02"), std::string::npos);
    EXPECT_NE(
        find(*files, "etc/systemd/timesyncd.conf.d/netbootd.conf")->content.find("NTP=10.42.0.251"),
        std::string::npos);
}

TEST(nfs_render, base_gets_only_node_independent_files_with_tmpfs) {
    auto cfg = test::make_config("/srv/t");
    std::vector<std::string> skipped;
    auto files = render_tree(cfg.nfs.templates_dir, base_vars(cfg, true), true, &skipped);
    ASSERT_TRUE(files) << files.error();
    EXPECT_EQ(find(*files, "etc/hostname"), nullptr) << "a shared root has no per-node hostname";
    EXPECT_EQ(find(*files, "etc/hosts"), nullptr);
    ASSERT_NE(find(*files, "etc/fstab"), nullptr);
    EXPECT_NE(find(*files, "etc/fstab")->content.find("tmpfs /var/log tmpfs"), std::string::npos);
    EXPECT_EQ(skipped.size(), 2u);
}

TEST(nfs_render, unknown_variable_fails_unless_skipping) {
    tmpdir t;
    std::filesystem::create_directories(t.path / "tpl/etc");
    std::ofstream(t.path / "tpl/etc/motd") << "hello {nosuchvar}\n";
    EXPECT_FALSE(render_tree(t.path / "tpl", {}));
    auto r = render_tree(t.path / "tpl", {}, true);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->empty());
}

TEST(nfs_render, write_into_root_never_follows_a_nodes_symlinks) {
    tmpdir t;
    const auto root = t.path / "root";
    const auto outside = t.path / "outside";
    std::filesystem::create_directories(root);
    std::filesystem::create_directories(outside);
    std::ofstream(outside / "shadow") << "secret\n";
    // The node planted /etc/hostname -> ../../outside/shadow and /etc/ssh -> outside.
    std::filesystem::create_directories(root / "etc");
    std::filesystem::create_symlink(outside / "shadow", root / "etc/hostname");
    std::filesystem::create_directory_symlink(outside, root / "etc/ssh");

    ASSERT_TRUE(
        write_into_root(root, {{"etc/hostname", "node02\n", std::filesystem::perms(0644)}}));
    EXPECT_EQ(slurp(outside / "shadow"), "secret\n") << "the link target is untouched";
    EXPECT_FALSE(std::filesystem::is_symlink(root / "etc/hostname"));
    EXPECT_EQ(slurp(root / "etc/hostname"), "node02\n");

    auto r = write_into_root(root, {{"etc/ssh/sshd_config", "x", std::filesystem::perms(0644)}});
    EXPECT_FALSE(r) << "a symlinked parent directory is refused";
    EXPECT_FALSE(std::filesystem::exists(outside / "sshd_config"));

    EXPECT_FALSE(write_into_root(root, {{"../escape", "x", std::filesystem::perms(0644)}}));
    EXPECT_FALSE(std::filesystem::exists(t.path / "escape"));
}

TEST(nfs_render, creates_missing_directories_with_mode) {
    tmpdir t;
    ASSERT_TRUE(
        write_into_root(t.path, {{"etc/systemd/x.conf", "a", std::filesystem::perms(0600)}}));
    struct stat st;
    ASSERT_EQ(::stat((t.path / "etc/systemd/x.conf").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(nfs_render, agent_settings_and_authorized_keys_templates) {
    auto cfg = test::make_config("/srv/t");
    cfg.api.listen = "127.0.0.1:9123";
    auto vars = node_vars(cfg, cfg.nodes[1]);
    EXPECT_EQ(std::get<std::string>(vars["api_url"]), "http://10.42.0.250:9123")
        << "the node reaches the API on the server's cluster address";
    vars["ssh_authorized_keys"] = std::string("ssh-ed25519 AAAAC3Nza admin@rack\n");
    auto files = render_tree(cfg.nfs.templates_dir, vars);
    ASSERT_TRUE(files) << files.error();
    ASSERT_NE(find(*files, "etc/default/netbootd-agent"), nullptr);
    EXPECT_NE(find(*files, "etc/default/netbootd-agent")
                  ->content.find("NETBOOTD_URL=http://10.42.0.250:9123\n"),
              std::string::npos);
    ASSERT_NE(find(*files, "root/.ssh/authorized_keys"), nullptr);
    EXPECT_EQ(find(*files, "root/.ssh/authorized_keys")->content,
              "ssh-ed25519 AAAAC3Nza admin@rack\n");
}

TEST(nfs_render, ssh_directories_are_private_and_links_are_written_as_links) {
    tmpdir t;
    ASSERT_TRUE(write_into_root(
        t.path, {{"root/.ssh/authorized_keys", "k\n", std::filesystem::perms(0600)}}));
    struct stat st;
    ASSERT_EQ(::stat((t.path / "root/.ssh").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    ASSERT_EQ(::stat((t.path / "root").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0755u);

    // A link replaces whatever is there (a file the node made), and is never followed.
    std::filesystem::create_directories(t.path / "etc/wants");
    std::ofstream(t.path / "etc/wants/unit") << "node's own file";
    ASSERT_TRUE(
        write_into_root(t.path, {{"etc/wants/unit", {}, std::filesystem::perms(0777), "../unit"}}));
    EXPECT_TRUE(std::filesystem::is_symlink(t.path / "etc/wants/unit"));
    EXPECT_EQ(std::filesystem::read_symlink(t.path / "etc/wants/unit"), "../unit");
}
