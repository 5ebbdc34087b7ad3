#include "netbootd/tftp/resolver.hpp"

#include <array>
#include <cerrno>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "netbootd/tftp/render.hpp"

namespace netbootd::tftp {

namespace {

constexpr std::size_t max_component = 128;
constexpr std::size_t max_components = 16;
constexpr std::uint64_t max_template_bytes = 1u << 20;

/// An fd closed on scope exit.
struct unique_fd {
    int fd = -1;
    explicit unique_fd(int f = -1) : fd(f) {}
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() {
        if (fd >= 0)
            ::close(fd);
    }
    int release() { return std::exchange(fd, -1); }
};

/// Opens `rel` below `dir` for reading. RESOLVE_BENEATH makes the kernel refuse any `..` or
/// symlink (absolute or relative) that would leave `dir`; magic links (/proc) are refused too.
int open_beneath(int dirfd, const std::string& rel, int flags) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long r;
    do {
        r = ::syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof how);
    } while (r < 0 && errno == EINTR);
    return static_cast<int>(r);
}

unique_fd open_dir(const std::filesystem::path& p) {
    if (p.empty())
        return unique_fd{};
    return unique_fd{::open(p.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
}

/// Opens a regular file `rel` below directory `base` (optionally `sub` below it first).
/// Returns -1 when it does not exist, is not a regular file, or would escape.
int open_regular(const std::filesystem::path& base, const std::string& sub,
                 const std::string& rel) {
    auto dir = open_dir(base);
    if (dir.fd < 0)
        return -1;
    unique_fd subdir;
    int from = dir.fd;
    if (!sub.empty()) {
        subdir.fd = open_beneath(dir.fd, sub, O_PATH | O_DIRECTORY);
        if (subdir.fd < 0)
            return -1;
        from = subdir.fd;
    }
    unique_fd f{open_beneath(from, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK)};
    if (f.fd < 0)
        return -1;
    struct stat st {};
    if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    return f.release();
}

tl::expected<std::string, std::string> read_template(int fd) {
    unique_fd f{fd};
    struct stat st {};
    if (::fstat(f.fd, &st) != 0)
        return tl::unexpected(std::string("stat failed"));
    if (static_cast<std::uint64_t>(st.st_size) > max_template_bytes)
        return tl::unexpected(std::string("template larger than 1 MiB"));
    std::string text(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < text.size()) {
        auto r = ::read(f.fd, text.data() + got, text.size() - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += static_cast<std::size_t>(r);
    }
    text.resize(got);
    return text;
}

std::string_view basename_of(std::string_view p) {
    auto slash = p.rfind('/');
    return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

bool is_dashed_mac(std::string_view s) {
    if (s.size() != 17)
        return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (i % 3 == 2) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

bool is_serial(std::string_view s) {
    return s.size() == 8 && parse_serial(s).has_value();
}

} // namespace

tl::expected<std::string, std::string> sanitize_path(std::string_view in) {
    if (in.empty())
        return tl::unexpected(std::string("empty name"));
    if (in.size() > 255)
        return tl::unexpected(std::string("name too long"));
    if (in.front() == '/')
        return tl::unexpected(std::string("absolute path"));
    for (char c : in) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\\')
            return tl::unexpected(std::string("backslash in name"));
        if (u < 0x20 || u == 0x7f)
            return tl::unexpected(std::string("control character in name"));
    }
    std::string out;
    std::size_t count = 0;
    std::size_t pos = 0;
    while (pos <= in.size()) {
        auto slash = in.find('/', pos);
        if (slash == std::string_view::npos)
            slash = in.size();
        auto comp = in.substr(pos, slash - pos);
        pos = slash + 1;
        if (comp.empty() || comp == ".")
            continue;
        if (comp == "..")
            return tl::unexpected(std::string("parent directory in name"));
        if (comp.size() > max_component)
            return tl::unexpected(std::string("component too long"));
        if (++count > max_components)
            return tl::unexpected(std::string("too many components"));
        if (!out.empty())
            out += '/';
        out += comp;
    }
    if (out.empty())
        return tl::unexpected(std::string("empty name"));
    return out;
}

bool is_expected_probe(std::string_view path, bool unknown_prefix) {
    static constexpr std::array<std::string_view, 24> probes = {
        "bootsig.bin",     "recovery.elf",     "recover4.elf",   "recover5.elf", "recovery7.img",
        "recovery8.img",   "fixup4rc.dat",     "fixup_rc.dat",   "pieeprom.sig", "pieeprom.upd",
        "pieeprom.bin",    "vl805.sig",        "vl805.bin",      "autoboot.txt", "dt-blob.bin",
        "armstub8-32.bin", "armstub8-gic.bin", "armstub8.bin",   "armstub7.bin", "armstub.bin",
        "kernel8-32.img",  "overlay_map.dtb",  "start4.elf.sig", "boot.sig",
    };
    const auto base = basename_of(path);
    for (auto p : probes)
        if (base == p)
            return true;
    if (unknown_prefix && (base == "start4.elf" || base == "start.elf" || base == "config.txt"))
        return true;
    return false;
}

std::string_view to_string(view_source s) {
    switch (s) {
    case view_source::node_dir:
        return "node";
    case view_source::rendered:
        return "rendered";
    case view_source::shared:
        return "shared";
    }
    return "?";
}

resolution resolver::resolve(const registry& reg, ipv4_address client, std::string_view requested) {
    resolution r;
    auto clean = sanitize_path(requested);
    if (!clean) {
        r.result = resolution::status::refused;
        r.reason = clean.error();
        r.path = std::string(requested.substr(0, 64));
        r.for_node = reg.by_ip(client);
        return r;
    }
    const auto& cfg = reg.config();
    std::string path = std::move(*clean);

    // A prefix directory: 8-hex serial or dashed MAC, followed by a file below it. One that
    // names a node wins; a configured TFTP_PREFIX_STR comes next (it may be any string, so it is
    // only consulted when the serial/MAC reading names nobody); a serial/MAC prefix naming no node
    // is looked up literally.
    std::string_view unknown;
    if (auto slash = path.find('/'); slash != std::string::npos) {
        std::string_view first(path.data(), slash);
        const node* n = nullptr;
        bool prefixed = false;
        if (is_serial(first)) {
            prefixed = true;
            n = reg.by_serial(*parse_serial(first));
        } else if (is_dashed_mac(first)) {
            prefixed = true;
            n = reg.by_mac(*mac_address::parse(first));
        }
        if (n) {
            r.prefix = std::string(first);
            r.for_node = n;
            path = path.substr(slash + 1);
        } else if (prefixed) {
            unknown = first;
        }
    }
    // TFTP_PREFIX_STR: matched against the name exactly as the Pi sent it (the prefix is
    // prepended verbatim, with or without a trailing '/'); the rest is a path in the node's view
    // and passes the same checks as a whole name would.
    if (!r.for_node && reg.has_tftp_prefixes()) {
        if (const node* n = reg.match_tftp_prefix(requested)) {
            r.for_node = n;
            r.prefix = n->tftp_prefix;
            auto rest = sanitize_path(requested.substr(n->tftp_prefix.size()));
            if (!rest) {
                r.result = resolution::status::refused;
                r.reason = rest.error() + " after tftp_prefix";
                r.path = std::string(requested.substr(n->tftp_prefix.size()).substr(0, 64));
                return r;
            }
            unknown = {};
            path = std::move(*rest);
        }
    }
    if (!unknown.empty()) {
        r.prefix = std::string(unknown);
        r.unknown_prefix = true;
    }
    if (!r.for_node && !r.unknown_prefix)
        r.for_node = reg.by_ip(client);
    r.path = path;

    auto found = [&](int fd, view_source src) {
        auto data = cache_.get(fd);
        if (!data) {
            r.result = resolution::status::failed;
            r.reason = data.error().message();
            return;
        }
        r.result = resolution::status::found;
        r.source = src;
        r.data = std::move(*data);
    };

    const node* n = r.for_node;
    if (n && !r.unknown_prefix) {
        // 1. The node's own directory.
        if (!cfg.tftp.nodes_dir.empty()) {
            if (int fd = open_regular(cfg.tftp.nodes_dir, n->hostname, path); fd >= 0) {
                found(fd, view_source::node_dir);
                return r;
            }
        }
        // 2. Rendered for the node.
        if (!cfg.tftp.templates_dir.empty()) {
            bool append = false;
            int fd = open_regular(cfg.tftp.templates_dir, "", path);
            if (fd < 0) {
                fd = open_regular(cfg.tftp.templates_dir, "", path + ".append");
                append = fd >= 0;
            }
            if (fd >= 0) {
                auto text = read_template(fd);
                tl::expected<std::string, std::string> out =
                    text ? render_boot_file(*text, cfg, *n) : tl::unexpected(text.error());
                if (!out) {
                    r.result = resolution::status::failed;
                    r.reason = "template " + path + (append ? ".append" : "") + ": " + out.error();
                    return r;
                }
                if (append) {
                    if (int base = open_regular(cfg.tftp.root, "", path); base >= 0) {
                        auto shared = cache_.get(base);
                        if (shared && (*shared)->in_memory()) {
                            auto bytes = static_cast<const memory_content&>(**shared).bytes();
                            std::string joined(bytes.begin(), bytes.end());
                            if (!joined.empty() && joined.back() != '\n')
                                joined += '\n';
                            *out = joined + *out;
                        }
                    }
                }
                r.result = resolution::status::found;
                r.source = view_source::rendered;
                r.data = make_memory_content(*out);
                return r;
            }
        }
    }
    // 3. The shared firmware (for an unknown prefix: the literal path, as a plain server would).
    if (int fd = open_regular(cfg.tftp.root, "", path); fd >= 0) {
        found(fd, view_source::shared);
        return r;
    }
    r.result = resolution::status::not_found;
    r.expected_probe = is_expected_probe(path, r.unknown_prefix);
    return r;
}

} // namespace netbootd::tftp
