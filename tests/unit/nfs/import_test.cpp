#include "netbootd/nfs/import.hpp"

#include <array>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include "netbootd/core/sha256.hpp"
#include "netbootd/nfs/check.hpp"
#include "netbootd/nfs/mbr.hpp"

using namespace netbootd;
using namespace netbootd::nfs;

TEST(nfs_import, fstab_drops_the_sd_card_and_mounts_boot_from_the_server) {
    const std::string pios = "proc            /proc           proc    defaults          0       0\n"
                             "PARTUUID=4e639091-01  /boot/firmware  vfat    defaults          0 "
                             "      2\n"
                             "PARTUUID=4e639091-02  /               ext4    defaults,noatime  0 "
                             "      1\n"
                             "# a swapfile is not a swap partition\n"
                             "/dev/mmcblk0p3 /data ext4 defaults 0 2\n";
    const auto out = netboot_fstab(pios, "10.42.0.250", "/srv/boot", false);
    EXPECT_EQ(out.find("PARTUUID"), std::string::npos) << out;
    EXPECT_NE(out.find("proc            /proc"), std::string::npos) << "proc is kept";
    EXPECT_NE(out.find("/dev/mmcblk0p3 /data"), std::string::npos)
        << "only root and boot lines are the netboot's business";
    EXPECT_NE(out.find("10.42.0.250:/srv/boot /boot/firmware nfs defaults,vers=3"),
              std::string::npos);
    EXPECT_EQ(out.find("tmpfs"), std::string::npos);
    const auto shared = netboot_fstab(pios, "10.42.0.250", "/srv/boot", true);
    EXPECT_NE(shared.find("tmpfs /tmp tmpfs"), std::string::npos);
    EXPECT_EQ(netboot_fstab(shared, "10.42.0.250", "/srv/boot", true), shared)
        << "idempotent: importing twice adds nothing";
}

TEST(nfs_import, fstab_adds_proc_when_missing) {
    EXPECT_NE(netboot_fstab("", "1.2.3.4", "/b", false).find("proc /proc proc"), std::string::npos);
}

TEST(nfs_import, cmdline_template_for_nfs_root) {
    const std::string pios = "console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 "
                             "rootfstype=ext4 fsck.repair=yes rootwait quiet "
                             "init=/usr/lib/raspberrypi-sys-mods/firstboot "
                             "cfg80211.ieee80211_regdom=GB\n";
    EXPECT_EQ(netboot_cmdline_template(pios),
              "console=serial0,115200 console=tty1 root=/dev/nfs "
              "nfsroot={server_ip}:{nfs_root},vers=3 rw ip=dhcp rootwait\n");
    EXPECT_EQ(netboot_cmdline_template("a={x}"),
              "a={{x}} root=/dev/nfs nfsroot={server_ip}:{nfs_root},vers=3 rw ip=dhcp rootwait\n")
        << "braces from the image are escaped, not template variables";
}

namespace {
std::array<std::uint8_t, 512> mbr_with(std::initializer_list<std::array<std::uint32_t, 3>> parts) {
    std::array<std::uint8_t, 512> s{};
    int i = 0;
    for (const auto& p : parts) {
        auto* e = s.data() + 446 + 16 * i++;
        e[4] = static_cast<std::uint8_t>(p[0]);
        for (int b = 0; b < 4; ++b) {
            e[8 + b] = static_cast<std::uint8_t>(p[1] >> (8 * b));
            e[12 + b] = static_cast<std::uint8_t>(p[2] >> (8 * b));
        }
    }
    s[510] = 0x55;
    s[511] = 0xaa;
    return s;
}
} // namespace

TEST(nfs_import, mbr_of_a_pi_os_image) {
    const auto s = mbr_with({{0x0c, 8192, 1048576}, {0x83, 1056768, 4194304}});
    auto r = decode_mbr(s);
    ASSERT_TRUE(r) << r.error();
    ASSERT_EQ(r->size(), 2u);
    EXPECT_TRUE((*r)[0].is_fat());
    EXPECT_EQ((*r)[0].offset(), 8192u * 512);
    EXPECT_TRUE((*r)[1].is_linux());
    EXPECT_EQ((*r)[1].size(), 4194304ull * 512);
}

TEST(nfs_import, mbr_errors) {
    auto s = mbr_with({{0x0c, 8192, 100}});
    s[511] = 0;
    EXPECT_FALSE(decode_mbr(s)) << "no signature";
    EXPECT_FALSE(decode_mbr(std::span<const std::uint8_t>(s.data(), 100))) << "short";
    EXPECT_FALSE(decode_mbr(mbr_with({{0xee, 1, 100}}))) << "GPT";
    EXPECT_FALSE(decode_mbr(mbr_with({}))) << "no partitions";
    EXPECT_FALSE(decode_mbr(mbr_with({{0x83, 0, 100}}))) << "starts at 0";
    EXPECT_FALSE(decode_mbr(mbr_with({{0x83, 2048, 100}}), 2048 * 512)) << "beyond the image";
    EXPECT_TRUE(decode_mbr(mbr_with({{0x83, 2048, 100}}), 2148 * 512));
}

TEST(nfs_import, sha256_vectors) {
    auto hex = [](std::string_view s) {
        sha256 h;
        h.update(s.data(), s.size());
        return h.hex_digest();
    };
    EXPECT_EQ(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    sha256 h;
    const std::string a(1000, 'a');
    for (int i = 0; i < 1000; ++i)
        h.update(a.data(), a.size());
    EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(nfs_check, export_allows_by_address_subnet_or_star) {
    const std::vector<listed_export> l = {{"/r/node02", {"10.42.0.2"}},
                                          {"/r/base", {"10.42.0.0/24"}},
                                          {"/boot", {"*"}},
                                          {"/open", {}}};
    const auto ip2 = ipv4_address::parse("10.42.0.2").value();
    const auto ip3 = ipv4_address::parse("10.42.0.3").value();
    bool found = false;
    EXPECT_EQ(export_allows(l, "/r/node02", ip2, &found), std::optional<bool>(true));
    EXPECT_TRUE(found);
    EXPECT_EQ(export_allows(l, "/r/node02", ip3, &found), std::optional<bool>(false));
    EXPECT_EQ(export_allows(l, "/r/base/", ip3, &found), std::optional<bool>(true));
    EXPECT_EQ(export_allows(l, "/boot", ip3, &found), std::optional<bool>(true));
    EXPECT_EQ(export_allows(l, "/open", ip3, &found), std::nullopt) << "server did not say";
    EXPECT_EQ(export_allows(l, "/r/node03", ip3, &found), std::optional<bool>(false));
    EXPECT_FALSE(found);
}

TEST(nfs_check, ok_rules) {
    root_check c;
    c.listed = true;
    c.mount = mount_outcome::refused;
    EXPECT_TRUE(c.ok(false)) << "listed, but this address is rightly refused";
    EXPECT_FALSE(c.ok(true));
    c.listed = false;
    EXPECT_FALSE(c.ok(false)) << "neither listed nor mountable";
    c.listed = true;
    c.mount = mount_outcome::ok;
    c.has_init = true;
    c.hostname_ok = false;
    EXPECT_FALSE(c.ok(false));
    c.hostname_ok = true;
    EXPECT_TRUE(c.ok(true));
    c.client_allowed = false;
    EXPECT_FALSE(c.ok(false));
}

TEST(nfs_import, detect_source_kinds) {
    char t[] = "/tmp/nfs-detect.XXXXXX";
    const std::filesystem::path d = ::mkdtemp(t);
    EXPECT_EQ(detect_source(d), import_source::directory);
    EXPECT_EQ(detect_source(d / "missing"), import_source::unknown);
    {
        std::ofstream(d / "x.tar.gz") << "gz";
        auto s = mbr_with({{0x83, 2048, 1}});
        std::ofstream(d / "pi.img", std::ios::binary)
            .write(reinterpret_cast<const char*>(s.data()), s.size());
        std::ofstream(d / "junk.bin") << std::string(600, 'x');
    }
    EXPECT_EQ(detect_source(d / "x.tar.gz"), import_source::tarball);
    EXPECT_EQ(detect_source(d / "pi.img"), import_source::image);
    EXPECT_EQ(detect_source(d / "junk.bin"), import_source::unknown);
    std::filesystem::remove_all(d);
}
