#include "netbootd/tftp/resolver.hpp"

#include <fcntl.h>
#include <fstream>
#include <unistd.h>

#include <gtest/gtest.h>

#include "netbootd/core/node_paths.hpp"

namespace netbootd::tftp {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, std::string_view text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}

std::string text_of(const content_ptr& c) {
    std::vector<std::uint8_t> scratch(c->size());
    std::error_code ec;
    auto s = c->read(0, c->size(), scratch, ec);
    return std::string(s.begin(), s.end());
}

class resolver_test : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("netbootd-resolver-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        write(dir_ / "secret.txt", "outside the roots");
        write(dir_ / "boot/start4.elf", "shared start4");
        write(dir_ / "boot/config.txt", "shared config\n");
        write(dir_ / "boot/cmdline.txt", "shared cmdline");
        write(dir_ / "boot/overlays/vc4.dtbo", "dtbo");
        write(dir_ / "boot/legacy0/start.elf", "legacy");
        write(dir_ / "nodes/node01/config.txt", "node01 config");
        write(dir_ / "nodes/node02/start4.elf", "node02's own firmware");
        write(dir_ / "nodes/node03/start4.elf", "node03's own firmware");
        write(dir_ / "nodes/node05/config.txt", "node05 config");
        write(dir_ / "templates/cmdline.txt",
              "root=/dev/nfs nfsroot={server_ip}:{nfs_root},vers=3 host={hostname} ip={ip} "
              "pos={position:02} serial={serial} mac={mac}");
        write(dir_ / "templates/config.txt.append", "# for {hostname}\n");
        write(dir_ / "templates/broken.txt", "{nope}");
        fs::create_directory_symlink(dir_, dir_ / "boot/up");
        fs::create_symlink(dir_ / "secret.txt", dir_ / "boot/abs-link");
        fs::create_symlink("../secret.txt", dir_ / "boot/rel-link");
        fs::create_symlink("overlays/vc4.dtbo", dir_ / "boot/inside-link");
        fs::create_symlink("../../secret.txt", dir_ / "nodes/node01/leak");
        fs::create_symlink("../node02/start4.elf", dir_ / "nodes/node01/neighbour");
        fs::create_symlink("../../secret.txt", dir_ / "nodes/node03/leak");

        cluster_config cfg;
        cfg.cluster.server_ip = *ipv4_address::parse("10.42.0.250");
        cfg.tftp.root = dir_ / "boot";
        cfg.tftp.nodes_dir = dir_ / "nodes";
        cfg.tftp.templates_dir = dir_ / "templates";
        cfg.nfs.base_root = "/srv/roots/base";
        cfg.nfs.roots_dir = "/srv/roots";
        node n1;
        n1.position = 1;
        n1.hostname = "node01";
        n1.mac = *mac_address::parse("b8:27:eb:e2:47:cc");
        n1.serial = 0x27e247cc;
        n1.ip = *ipv4_address::parse("10.42.0.1");
        n1.root = root_mode::overlay;
        node n2;
        n2.position = 2;
        n2.hostname = "node02";
        n2.mac = *mac_address::parse("dc:a6:32:01:36:c2");
        n2.serial = 0x6aee7243;
        n2.ip = *ipv4_address::parse("10.42.0.2");
        n2.root = root_mode::shared;
        // TFTP_PREFIX_STR nodes: with a trailing '/', without one, with an inner '/', and a
        // shorter prefix of another ("rack1/" vs "rack1/n05/") for the longest match.
        auto str_node = [](int pos, const char* prefix) {
            node n;
            n.position = pos;
            n.hostname = "node0" + std::to_string(pos);
            n.mac = *mac_address::parse("d8:3a:dd:00:00:0" + std::to_string(pos));
            n.ip = ipv4_address{(10u << 24) | (42u << 16) | static_cast<std::uint32_t>(pos)};
            n.root = root_mode::overlay;
            n.tftp_prefix = prefix;
            return n;
        };
        cfg.nodes = {n1,
                     n2,
                     str_node(3, "rack1-07/"),
                     str_node(4, "pi-"),
                     str_node(5, "rack1/n05/"),
                     str_node(6, "rack1/")};
        reg_ = std::make_unique<registry>(cfg);
    }
    void TearDown() override { fs::remove_all(dir_); }

    resolution get(std::string_view name, const char* from = "10.42.0.77") {
        return res_.resolve(*reg_, *ipv4_address::parse(from), name);
    }

    fs::path dir_;
    std::unique_ptr<registry> reg_;
    file_cache cache_;
    resolver res_{cache_};
};

struct view_row {
    const char* name;
    const char* from;
    const char* want_text; // nullptr = not found
    view_source source;
    int node; // expected node position, 0 = none
};

TEST_F(resolver_test, views) {
    const std::string c1 = "root=/dev/nfs nfsroot=10.42.0.250:/srv/roots/node01,vers=3 host=node01 "
                           "ip=10.42.0.1 pos=01 serial=27e247cc mac=b8:27:eb:e2:47:cc";
    const std::vector<view_row> rows = {
        {"27e247cc/start4.elf", "10.42.0.77", "shared start4", view_source::shared, 1},
        {"27e247cc/config.txt", "10.42.0.77", "node01 config", view_source::node_dir, 1},
        {"27e247cc/cmdline.txt", "10.42.0.77", c1.c_str(), view_source::rendered, 1},
        {"27E247CC/cmdline.txt", "10.42.0.77", c1.c_str(), view_source::rendered, 1},
        {"b8-27-eb-e2-47-cc/cmdline.txt", "10.42.0.77", c1.c_str(), view_source::rendered, 1},
        {"cmdline.txt", "10.42.0.1", c1.c_str(), view_source::rendered, 1},
        {"config.txt", "10.42.0.1", "node01 config", view_source::node_dir, 1},
        {"6aee7243/start4.elf", "10.42.0.77", "node02's own firmware", view_source::node_dir, 2},
        {"6aee7243/config.txt", "10.42.0.77", "shared config\n# for node02\n",
         view_source::rendered, 2},
        {"dc-a6-32-01-36-c2/overlays/vc4.dtbo", "10.42.0.77", "dtbo", view_source::shared, 2},
        {"cmdline.txt", "10.42.0.77", "shared cmdline", view_source::shared, 0},
        {"config.txt", "10.42.0.77", "shared config\n", view_source::shared, 0},
        {"./overlays//vc4.dtbo", "10.42.0.77", "dtbo", view_source::shared, 0},
        {"inside-link", "10.42.0.77", "dtbo", view_source::shared, 0},
        {"27e247cc/neighbour", "10.42.0.77", nullptr, view_source::shared, 1},
        {"deadbeef/start4.elf", "10.42.0.1", nullptr, view_source::shared, 0},
        {"legacy0/start.elf", "10.42.0.77", "legacy", view_source::shared, 0},
        {"bootsig.bin", "10.42.0.77", nullptr, view_source::shared, 0},
        {"overlays", "10.42.0.77", nullptr, view_source::shared, 0},
        // TFTP_PREFIX_STR: the node's view with the configured string removed.
        {"rack1-07/start4.elf", "10.42.0.77", "node03's own firmware", view_source::node_dir, 3},
        {"rack1-07/config.txt", "10.42.0.77", "shared config\n# for node03\n",
         view_source::rendered, 3},
        {"rack1-07/overlays/vc4.dtbo", "10.42.0.1", "dtbo", view_source::shared, 3},
        {"rack1-07/start4.elf", "10.42.0.1", "node03's own firmware", view_source::node_dir, 3},
        {"pi-start4.elf", "10.42.0.77", "shared start4", view_source::shared, 4},
        {"pi-config.txt", "10.42.0.77", "shared config\n# for node04\n", view_source::rendered, 4},
        {"rack1/n05/config.txt", "10.42.0.77", "node05 config", view_source::node_dir, 5},
        {"rack1/n05/start4.elf", "10.42.0.77", "shared start4", view_source::shared, 5},
        {"rack1/config.txt", "10.42.0.77", "shared config\n# for node06\n", view_source::rendered,
         6},
        {"rack1/n07/start4.elf", "10.42.0.77", nullptr, view_source::shared, 6},
        {"rack1/n05", "10.42.0.77", nullptr, view_source::shared, 6},
        // Unknown or differently cased strings: as today (the client's node, else literal).
        {"rack9/start4.elf", "10.42.0.77", nullptr, view_source::shared, 0},
        {"rack9/config.txt", "10.42.0.1", nullptr, view_source::shared, 1},
        {"Rack1-07/start4.elf", "10.42.0.77", nullptr, view_source::shared, 0},
        {"pi_start4.elf", "10.42.0.77", nullptr, view_source::shared, 0},
    };
    for (const auto& r : rows) {
        auto got = get(r.name, r.from);
        if (r.node) {
            ASSERT_NE(got.for_node, nullptr) << r.name;
        }
        if (got.for_node) {
            EXPECT_EQ(got.for_node->position, r.node) << r.name;
        } else {
            EXPECT_EQ(r.node, 0) << r.name;
        }
        if (!r.want_text) {
            EXPECT_EQ(got.result, resolution::status::not_found) << r.name;
            continue;
        }
        ASSERT_EQ(got.result, resolution::status::found) << r.name;
        EXPECT_EQ(got.source, r.source) << r.name;
        EXPECT_EQ(text_of(got.data), r.want_text) << r.name;
    }
}

TEST_F(resolver_test, str_prefix_maps_to_its_node) {
    auto got = get("rack1-07/cmdline.txt");
    ASSERT_EQ(got.result, resolution::status::found);
    ASSERT_NE(got.for_node, nullptr);
    EXPECT_EQ(got.for_node->hostname, "node03");
    EXPECT_EQ(got.prefix, "rack1-07/") << "the configured string, verbatim";
    EXPECT_EQ(got.path, "cmdline.txt");
    EXPECT_FALSE(got.unknown_prefix);
    EXPECT_EQ(got.source, view_source::rendered);
    EXPECT_NE(text_of(got.data).find("nfsroot=10.42.0.250:/srv/roots/node03,vers=3 host=node03 "
                                     "ip=10.42.0.3 pos=03"),
              std::string::npos)
        << text_of(got.data);

    auto glued = get("pi-cmdline.txt");
    EXPECT_EQ(glued.prefix, "pi-");
    EXPECT_EQ(glued.path, "cmdline.txt");
    ASSERT_EQ(glued.result, resolution::status::found);
    EXPECT_NE(text_of(glued.data).find("host=node04"), std::string::npos);

    auto longest = get("rack1/n05/cmdline.txt");
    EXPECT_EQ(longest.prefix, "rack1/n05/");
    EXPECT_EQ(longest.path, "cmdline.txt");
    auto shorter = get("rack1/n07/cmdline.txt");
    EXPECT_EQ(shorter.prefix, "rack1/");
    EXPECT_EQ(shorter.path, "n07/cmdline.txt");
    EXPECT_EQ(shorter.result, resolution::status::not_found);

    // A prefix probe under a known str prefix is an ordinary lookup, not an expected miss.
    auto probe = get("rack1-07/start.elf");
    EXPECT_EQ(probe.result, resolution::status::not_found);
    EXPECT_FALSE(probe.unknown_prefix);
    EXPECT_FALSE(probe.expected_probe);
}

TEST_F(resolver_test, serial_and_mac_prefixes_win_over_str_prefixes) {
    cluster_config cfg = reg_->config();
    for (auto& n : cfg.nodes)
        if (n.position == 4)
            n.tftp_prefix = "27e2"; // a prefix of node01's serial directory
    registry reg(cfg);
    auto known = res_.resolve(reg, *ipv4_address::parse("10.42.0.77"), "27e247cc/cmdline.txt");
    ASSERT_NE(known.for_node, nullptr);
    EXPECT_EQ(known.for_node->position, 1);
    EXPECT_EQ(known.prefix, "27e247cc");
    auto other = res_.resolve(reg, *ipv4_address::parse("10.42.0.77"), "27e2ffff/config.txt");
    ASSERT_NE(other.for_node, nullptr) << "a serial naming no node falls to the str prefix";
    EXPECT_EQ(other.for_node->position, 4);
    EXPECT_EQ(other.path, "ffff/config.txt");
}

TEST_F(resolver_test, registry_indexes_str_prefixes) {
    EXPECT_TRUE(reg_->has_tftp_prefixes());
    ASSERT_NE(reg_->by_tftp_prefix("pi-"), nullptr);
    EXPECT_EQ(reg_->by_tftp_prefix("pi-")->position, 4);
    EXPECT_EQ(reg_->by_tftp_prefix("pi"), nullptr);
    EXPECT_EQ(reg_->match_tftp_prefix("rack1/n05/x")->position, 5);
    EXPECT_EQ(reg_->match_tftp_prefix("rack1/n0"), reg_->by_tftp_prefix("rack1/"));
    EXPECT_EQ(reg_->match_tftp_prefix("rack"), nullptr);
    EXPECT_EQ(reg_->match_tftp_prefix(""), nullptr);
    cluster_config none = reg_->config();
    for (auto& n : none.nodes)
        n.tftp_prefix.clear();
    EXPECT_FALSE(registry(none).has_tftp_prefixes());
}

TEST_F(resolver_test, shared_nfs_root_for_shared_node) {
    auto got = get("6aee7243/cmdline.txt");
    ASSERT_EQ(got.result, resolution::status::found);
    EXPECT_NE(text_of(got.data).find("nfsroot=10.42.0.250:/srv/roots/base,vers=3"),
              std::string::npos);
}

TEST_F(resolver_test, unknown_prefix_probe_is_expected) {
    auto got = get("deadbeef/start4.elf");
    EXPECT_EQ(got.result, resolution::status::not_found);
    EXPECT_TRUE(got.unknown_prefix);
    EXPECT_TRUE(got.expected_probe);
    EXPECT_EQ(got.prefix, "deadbeef");
    auto miss = get("27e247cc/kernel9.img");
    EXPECT_FALSE(miss.expected_probe);
    EXPECT_TRUE(get("27e247cc/recover4.elf").expected_probe);
}

TEST_F(resolver_test, template_error_fails_without_serving) {
    auto got = get("broken.txt", "10.42.0.1");
    EXPECT_EQ(got.result, resolution::status::failed);
    EXPECT_NE(got.reason.find("broken.txt"), std::string::npos);
}

TEST_F(resolver_test, hostile_names_never_leave_the_roots) {
    const std::vector<std::string> hostile = {
        "../secret.txt",
        "../../../../etc/passwd",
        "/etc/passwd",
        "//etc/passwd",
        "overlays/../../secret.txt",
        "27e247cc/../../secret.txt",
        "27e247cc/../../../etc/shadow",
        "b8-27-eb-e2-47-cc/../../secret.txt",
        "..",
        "a/..",
        "..\\secret.txt",
        "overlays\\..\\..\\secret.txt",
        "C:\\secret.txt",
        std::string("start4.elf\0../secret.txt", 24),
        "start4.elf\n",
        "\x1b[2Jstart4.elf",
        "up/secret.txt",
        "abs-link",
        "rel-link",
        "27e247cc/leak",
        "cmdline.txt/../../secret.txt",
        std::string(256, 'a'),
        std::string(200, 'a') + "/" + std::string(60, 'b'),
        "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q",
        "/",
        "",
        "./../secret.txt",
        ".../secret.txt",
        // Behind a TFTP_PREFIX_STR.
        "rack1-07/../secret.txt",
        "rack1-07/../../secret.txt",
        "rack1-07/leak",
        "rack1-07/..\\secret.txt",
        "rack1-07/",
        "pi-../secret.txt",
        "pi-../../secret.txt",
        "pi-/etc/passwd",
        "pi-//secret.txt",
        "pi-..",
        "rack1/n05/../../secret.txt",
        "rack1/../secret.txt",
        "rack1/n05/" + std::string(250, 'a'),
    };
    ASSERT_GE(hostile.size(), 20u);
    for (const auto& h : hostile) {
        for (const char* from : {"10.42.0.77", "10.42.0.1"}) {
            auto got = get(h, from);
            if (got.result == resolution::status::found) {
                EXPECT_NE(text_of(got.data), "outside the roots") << "leaked via '" << h << "'";
            }
            EXPECT_NE(got.result, resolution::status::found) << "served '" << h << "'";
        }
    }
}

TEST(sanitize_path, normalises_and_refuses) {
    EXPECT_EQ(*sanitize_path("overlays/vc4.dtbo"), "overlays/vc4.dtbo");
    EXPECT_EQ(*sanitize_path("./a//b/./c"), "a/b/c");
    EXPECT_FALSE(sanitize_path("/a"));
    EXPECT_FALSE(sanitize_path("a/../b"));
    EXPECT_FALSE(sanitize_path("a\\b"));
    EXPECT_FALSE(sanitize_path(std::string("a\0b", 3)));
    EXPECT_FALSE(sanitize_path(""));
    EXPECT_FALSE(sanitize_path("./"));
}

TEST(file_cache_test, reuses_until_file_changes) {
    const auto p = fs::temp_directory_path() / ("netbootd-cache-" + std::to_string(::getpid()));
    write(p, "one");
    file_cache cache;
    auto a = cache.get(::open(p.c_str(), O_RDONLY));
    auto b = cache.get(::open(p.c_str(), O_RDONLY));
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->get(), b->get()) << "same content object shared";
    EXPECT_EQ(cache.statistics().hits, 1u);
    write(p, "changed!");
    auto c = cache.get(::open(p.c_str(), O_RDONLY));
    ASSERT_TRUE(c);
    EXPECT_EQ(text_of(*c), "changed!");
    EXPECT_EQ(text_of(*a), "one") << "a running transfer keeps its snapshot";
    fs::remove(p);
}

TEST(file_cache_test, large_files_stream_from_disk) {
    const auto p = fs::temp_directory_path() / ("netbootd-cache-big-" + std::to_string(::getpid()));
    write(p, std::string(5000, 'x') + "tail");
    file_cache cache(file_cache_limits{1000, 10000});
    auto c = cache.get(::open(p.c_str(), O_RDONLY));
    ASSERT_TRUE(c);
    EXPECT_FALSE((*c)->in_memory());
    std::vector<std::uint8_t> scratch(512);
    std::error_code ec;
    auto s = (*c)->read(5000, 512, scratch, ec);
    EXPECT_EQ(std::string(s.begin(), s.end()), "tail");
    fs::remove(p);
}

TEST(netascii, converts_line_ends) {
    const std::string in = "a\nb\rc";
    auto out = to_netascii(std::span(reinterpret_cast<const std::uint8_t*>(in.data()), in.size()));
    EXPECT_EQ(std::string(out.begin(), out.end()), std::string("a\r\nb\r\0c", 7));
}

TEST(node_paths, nfs_root_per_mode) {
    cluster_config cfg;
    cfg.nfs.base_root = "/b";
    cfg.nfs.roots_dir = "/r";
    node n;
    n.hostname = "pi07";
    n.root = root_mode::shared;
    EXPECT_EQ(nfs_root_path(cfg, n), "/b");
    n.root = root_mode::overlay;
    EXPECT_EQ(nfs_root_path(cfg, n), "/r/pi07");
    n.root = root_mode::clone;
    EXPECT_EQ(nfs_root_path(cfg, n), "/r/pi07");
}

} // namespace
} // namespace netbootd::tftp
