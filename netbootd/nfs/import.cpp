#include "netbootd/nfs/import.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "netbootd/core/atomic_file.hpp"
#include "netbootd/core/sha256.hpp"
#include "netbootd/nfs/fsutil.hpp"
#include "netbootd/nfs/mbr.hpp"
#include "netbootd/nfs/paths.hpp"
#include "netbootd/nfs/process.hpp"
#include "netbootd/nfs/render.hpp"

namespace netbootd::nfs {

std::string_view to_string(import_source s) {
    switch (s) {
    case import_source::image:
        return "image";
    case import_source::directory:
        return "directory";
    case import_source::tarball:
        return "tarball";
    case import_source::unknown:
        break;
    }
    return "unknown";
}

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::vector<std::string> split_ws(std::string_view line) {
    std::vector<std::string> out;
    std::istringstream ss{std::string(line)};
    std::string w;
    while (ss >> w)
        out.push_back(w);
    return out;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string mb(std::uint64_t bytes) {
    return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

// A temporary read-only mount of an image partition; undone on every path out.
struct image_mount {
    fs::path dir;
    bool mounted = false;
    ~image_mount() {
        if (mounted && ::umount2(dir.c_str(), 0) != 0)
            ::umount2(dir.c_str(), MNT_DETACH);
        if (!dir.empty())
            ::rmdir(dir.c_str());
    }
};

// A directory built beside its final place and swapped in at the end (or removed).
struct staged_dir {
    fs::path final_path;
    fs::path tmp;
    bool done = false;
    explicit staged_dir(fs::path p) : final_path(std::move(p)) {
        tmp = final_path;
        tmp += ".netbootd-import";
        (void)remove_tree(tmp);
    }
    ~staged_dir() {
        if (!done)
            (void)remove_tree(tmp);
    }
    tl::expected<void, std::string> commit() {
        auto old = final_path;
        old += ".netbootd-old";
        (void)remove_tree(old);
        struct stat st;
        if (::lstat(final_path.c_str(), &st) == 0 && ::rename(final_path.c_str(), old.c_str()) != 0)
            return tl::make_unexpected(
                fmt::format("rename {}: {}", final_path.string(), std::strerror(errno)));
        if (::rename(tmp.c_str(), final_path.c_str()) != 0)
            return tl::make_unexpected(
                fmt::format("rename {}: {}", tmp.string(), std::strerror(errno)));
        done = true;
        (void)remove_tree(old);
        return {};
    }
};

bool looks_like_boot(const fs::path& d) {
    std::error_code ec;
    for (const char* f : {"start4.elf", "start.elf", "bootcode.bin", "config.txt", "kernel8.img"})
        if (fs::exists(d / f, ec))
            return true;
    return false;
}

// Moves the boot files out of an imported root tree into `boot_tmp`, leaving the mount point
// empty (the node mounts the server's copy there).
tl::expected<bool, std::string> take_boot_files(const fs::path& root, const fs::path& boot_tmp) {
    for (const char* rel : {"boot/firmware", "boot"}) {
        const auto d = root / rel;
        if (!looks_like_boot(d))
            continue;
        auto r = copy_tree(d, boot_tmp);
        if (!r)
            return tl::make_unexpected(r.error());
        std::error_code ec;
        for (fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec))
            if (auto x = remove_tree(it->path()); !x)
                return tl::make_unexpected(x.error());
        if (std::string(rel) == "boot")
            fs::create_directories(root / "boot/firmware", ec);
        return true;
    }
    return false;
}

} // namespace

import_source detect_source(const fs::path& p) {
    std::error_code ec;
    if (fs::is_directory(p, ec))
        return import_source::directory;
    if (!fs::is_regular_file(p, ec))
        return import_source::unknown;
    const auto name = p.filename().string();
    for (const char* ext : {".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tar.zst"})
        if (ends_with(name, ext))
            return import_source::tarball;
    std::array<char, 512> head{};
    std::ifstream in(p, std::ios::binary);
    in.read(head.data(), head.size());
    const auto got = in.gcount();
    if (got >= 512 && static_cast<unsigned char>(head[510]) == 0x55 &&
        static_cast<unsigned char>(head[511]) == 0xaa)
        return import_source::image;
    if (got >= 262 && std::string_view(head.data() + 257, 5) == "ustar")
        return import_source::tarball;
    return import_source::unknown;
}

std::string netboot_fstab(std::string_view original, std::string_view server_ip,
                          std::string_view boot_dir, bool shared_read_only) {
    std::string out;
    std::istringstream in{std::string(original)};
    std::string line;
    bool have_proc = false;
    while (std::getline(in, line)) {
        const auto f = split_ws(line);
        if (!f.empty() && f[0][0] != '#' && f.size() >= 2) {
            const bool sd_device = f[0].rfind("/dev/mmcblk", 0) == 0 ||
                                   f[0].rfind("PARTUUID=", 0) == 0 || f[0].rfind("UUID=", 0) == 0 ||
                                   f[0].rfind("LABEL=", 0) == 0;
            const bool root_or_boot = f[1] == "/" || f[1].rfind("/boot", 0) == 0;
            if (sd_device && root_or_boot)
                continue; // the SD card is not there on a netbooted node
            if (f[1] == "/proc")
                have_proc = true;
            if (f.size() >= 3 && f[2] == "nfs" && f[1].rfind("/boot", 0) == 0)
                continue; // ours, re-added below
        }
        if (line.rfind("# netbootd:", 0) == 0)
            continue;
        if (shared_read_only && !f.empty() && f[0] == "tmpfs")
            continue; // re-added below
        out += line + "\n";
    }
    if (!have_proc)
        out += "proc /proc proc defaults 0 0\n";
    out += "# netbootd: the boot files come from the server (kernel updates land there)\n";
    out += fmt::format("{}:{} /boot/firmware nfs defaults,vers=3,ro 0 0\n", server_ip, boot_dir);
    if (shared_read_only) {
        out += "# netbootd: a shared root is read-only: scratch space in RAM\n";
        out += shared_tmpfs_mounts();
    }
    return out;
}

std::string netboot_cmdline_template(std::string_view original) {
    std::vector<std::string> kept;
    for (auto& w : split_ws(original)) {
        static const std::array<std::string_view, 10> drop = {
            "root=", "rootfstype=", "init=",  "fsck.repair=", "nfsroot=",
            "ip=",   "systemd.run", "resize", "cfg80211",     "splash"};
        bool skip = w == "rootwait" || w == "rw" || w == "ro" || w == "quiet";
        for (auto d : drop)
            if (w.rfind(d, 0) == 0)
                skip = true;
        if (skip)
            continue;
        std::string escaped;
        for (char c : w) {
            escaped += c;
            if (c == '{' || c == '}')
                escaped += c; // literal brace in the template language
        }
        kept.push_back(escaped);
    }
    kept.emplace_back("root=/dev/nfs");
    kept.emplace_back("nfsroot={server_ip}:{nfs_root},vers=3");
    kept.emplace_back("rw");
    kept.emplace_back("ip=dhcp");
    kept.emplace_back("rootwait");
    return fmt::format("{}\n", fmt::join(kept, " "));
}

tl::expected<std::uint64_t, std::string> write_manifest(const fs::path& dir,
                                                        const fs::path& manifest) {
    std::vector<std::string> lines;
    std::error_code ec;
    std::vector<char> buf(1 << 20);
    for (fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
         !ec && it != end; it.increment(ec)) {
        if (it->is_symlink() || !it->is_regular_file())
            continue;
        int fd = ::open(it->path().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return tl::make_unexpected(
                fmt::format("open {}: {}", it->path().string(), std::strerror(errno)));
        sha256 h;
        ssize_t n;
        while ((n = ::read(fd, buf.data(), buf.size())) > 0)
            h.update(buf.data(), static_cast<std::size_t>(n));
        ::close(fd);
        lines.push_back(
            fmt::format("{}  ./{}", h.hex_digest(), it->path().lexically_relative(dir).string()));
    }
    if (ec)
        return tl::make_unexpected(fmt::format("walk {}: {}", dir.string(), ec.message()));
    std::sort(lines.begin(), lines.end(),
              [](const auto& a, const auto& b) { return a.substr(66) < b.substr(66); });
    std::string text;
    for (const auto& l : lines)
        text += l + "\n";
    fs::create_directories(manifest.parent_path(), ec);
    if (auto wec = write_file_atomic(manifest, text))
        return tl::make_unexpected(fmt::format("write {}: {}", manifest.string(), wec.message()));
    return lines.size();
}

tl::expected<import_result, std::string>
import_base(const cluster_config& cfg, const import_options& opts, const event_sink& sink) {
    const auto t0 = std::chrono::steady_clock::now();
    auto say = [&](const std::string& s) {
        if (opts.progress)
            opts.progress(s);
    };
    auto emit = [&](std::string kind, severity level, nlohmann::json fields) {
        emit_nfs_event(sink, std::move(kind), level, std::move(fields));
    };
    auto failed = [&](std::string reason) -> tl::expected<import_result, std::string> {
        emit("nfs.import_failed", severity::error,
             {{"source", opts.source.string()}, {"reason", reason}});
        return tl::make_unexpected(std::move(reason));
    };

    import_result res;
    res.kind = detect_source(opts.source);
    res.root = opts.target.empty() ? cfg.nfs.base_root : opts.target;
    res.boot = cfg.tftp.root;
    if (res.kind == import_source::unknown)
        return failed(fmt::format("{}: not a directory, an MBR disk image or a tar archive "
                                  "(decompress .img.xz first)",
                                  opts.source.string()));
    std::error_code ec;
    if (!opts.force)
        for (const auto* p : {&res.root, &res.boot})
            if (fs::exists(*p, ec) && !fs::is_empty(*p, ec))
                return failed(
                    fmt::format("{} exists and is not empty (--force replaces it)", p->string()));
    fs::create_directories(res.root.parent_path(), ec);
    fs::create_directories(res.boot.parent_path(), ec);
    staged_dir root(res.root);
    staged_dir boot(res.boot);

    auto last = std::chrono::steady_clock::now();
    copy_options copts;
    copts.progress = [&](const copy_stats& s) {
        if (std::chrono::steady_clock::now() - last < std::chrono::seconds(2))
            return;
        last = std::chrono::steady_clock::now();
        say(fmt::format("  copied {} files, {}", s.files, mb(s.bytes)));
    };

    bool have_boot = false;
    switch (res.kind) {
    case import_source::directory: {
        say(fmt::format("copying root tree {} -> {}", opts.source.string(), res.root.string()));
        auto r = copy_tree(opts.source, root.tmp, copts);
        if (!r)
            return failed(r.error());
        break;
    }
    case import_source::tarball: {
        say(fmt::format("extracting {} -> {}", opts.source.string(), res.root.string()));
        fs::create_directories(root.tmp, ec);
        auto r = run_process({"tar", "--numeric-owner", "--xattrs", "--xattrs-include=*",
                              "--same-permissions", "--same-owner", "-xf", opts.source.string(),
                              "-C", root.tmp.string()});
        if (!r.ok())
            return failed(fmt::format("tar failed ({}): {}", r.status, r.output));
        break;
    }
    case import_source::image: {
        std::array<std::uint8_t, 512> sector{};
        {
            std::ifstream in(opts.source, std::ios::binary);
            in.read(reinterpret_cast<char*>(sector.data()), sector.size());
        }
        auto parts = decode_mbr(sector, fs::file_size(opts.source, ec));
        if (!parts)
            return failed(opts.source.string() + ": " + parts.error());
        const mbr_partition* fat = nullptr;
        const mbr_partition* linux_part = nullptr;
        for (const auto& p : *parts) {
            if (p.is_fat() && !fat)
                fat = &p;
            if (p.is_linux() && !linux_part)
                linux_part = &p;
        }
        if (!fat || !linux_part)
            return failed(opts.source.string() +
                          ": expected a FAT boot partition and a Linux root partition");
        // Boot: read the FAT with mtools, no mount needed.
        say(fmt::format("boot partition {} (FAT, {} at offset {}) -> {}", fat->index,
                        mb(fat->size()), fat->offset(), res.boot.string()));
        fs::create_directories(boot.tmp, ec);
        auto mc = run_process({"mcopy", "-s", "-p", "-m", "-n", "-Q", "-i",
                               fmt::format("{}@@{}", opts.source.string(), fat->offset()), "::*",
                               boot.tmp.string() + "/"});
        if (!mc.ok())
            return failed(fmt::format("mcopy failed ({}): {}", mc.status, mc.output));
        have_boot = true;
        // Root: a read-only loop mount, copied faithfully (owners, xattrs such as file
        // capabilities, hard links), then unmounted on every path (image_mount's destructor).
        say(fmt::format("root partition {} (Linux, {} at offset {}) -> {}", linux_part->index,
                        mb(linux_part->size()), linux_part->offset(), res.root.string()));
        image_mount m;
        char tmpl[] = "/tmp/netbootd-import.XXXXXX";
        if (::mkdtemp(tmpl) == nullptr)
            return failed(std::string("mkdtemp: ") + std::strerror(errno));
        m.dir = tmpl;
        auto mr = run_process({"mount", "-t", "ext4", "-o",
                               fmt::format("ro,noload,loop,offset={},sizelimit={}",
                                           linux_part->offset(), linux_part->size()),
                               opts.source.string(), m.dir.string()});
        if (!mr.ok())
            return failed(
                fmt::format("mount root partition failed ({}): {}", mr.status, mr.output));
        m.mounted = true;
        auto r = copy_tree(m.dir, root.tmp, copts);
        if (!r)
            return failed(r.error());
        break;
    }
    case import_source::unknown:
        break;
    }

    if (!have_boot) {
        auto r = take_boot_files(root.tmp, boot.tmp);
        if (!r)
            return failed(r.error());
        have_boot = *r;
        if (!have_boot)
            say("no boot files found in the root (boot/firmware or boot): tftp.root left as is");
    } else {
        // The image's root has an empty /boot/firmware mount point; make sure it exists.
        fs::create_directories(root.tmp / "boot/firmware", ec);
    }

    // Netboot preparation (spec 2.5).
    const bool any_shared_ro = !cfg.nfs.shared_writable &&
                               std::any_of(cfg.nodes.begin(), cfg.nodes.end(), [](const node& n) {
                                   return n.root == root_mode::shared;
                               });
    const auto fstab =
        netboot_fstab(read_file(root.tmp / "etc/fstab"), cfg.cluster.server_ip.to_string(),
                      res.boot.string(), any_shared_ro);
    if (auto r = write_into_root(root.tmp, {{"etc/fstab", fstab, fs::perms(0644)}}); !r)
        return failed(r.error());
    if (have_boot) {
        const auto original = read_file(boot.tmp / "cmdline.txt");
        const auto tmpl = netboot_cmdline_template(original);
        if (!cfg.tftp.templates_dir.empty() &&
            !fs::exists(cfg.tftp.templates_dir / "cmdline.txt")) {
            fs::create_directories(cfg.tftp.templates_dir, ec);
            if (auto wec = write_file_atomic(cfg.tftp.templates_dir / "cmdline.txt", tmpl))
                return failed("write cmdline.txt template: " + wec.message());
            res.cmdline_template = cfg.tftp.templates_dir / "cmdline.txt";
        }
        // The shared copy boots shared nodes even without per-node rendering.
        template_vars v;
        v["server_ip"] = cfg.cluster.server_ip.to_string();
        v["nfs_root"] = cfg.nfs.base_root.string();
        if (auto text = render_template(tmpl, v))
            if (auto r = write_into_root(boot.tmp, {{"cmdline.txt", *text, fs::perms(0644)}}); !r)
                return failed(r.error());
    }

    say("writing the checksum manifest");
    const auto manifests = cfg.nfs.roots_dir / ".manifests";
    const auto name = res.root.filename().string();
    auto files = write_manifest(root.tmp, manifests / (name + ".sha256"));
    if (!files)
        return failed(files.error());
    res.files = *files;
    res.manifest = manifests / (name + ".sha256");
    if (have_boot) {
        auto bf = write_manifest(boot.tmp, manifests / (name + ".boot.sha256"));
        if (!bf)
            return failed(bf.error());
    }
    for (const auto& e : fs::recursive_directory_iterator(root.tmp, ec))
        if (!e.is_symlink() && e.is_regular_file())
            res.bytes += e.file_size();

    if (auto r = root.commit(); !r)
        return failed(r.error());
    if (have_boot)
        if (auto r = boot.commit(); !r)
            return failed(r.error());
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    emit("nfs.imported", severity::info,
         {{"source", opts.source.string()},
          {"kind", to_string(res.kind)},
          {"root", res.root.string()},
          {"boot", have_boot ? res.boot.string() : ""},
          {"files", res.files},
          {"bytes", res.bytes},
          {"seconds", secs}});
    return res;
}

} // namespace netbootd::nfs
