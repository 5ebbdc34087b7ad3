#include "netbootd/nfs/render.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "netbootd/nfs/paths.hpp"

namespace netbootd::nfs {

std::string shared_tmpfs_mounts() {
    // A read-only root still needs writable scratch space (PiServer's list, plus /var/tmp).
    return "tmpfs /tmp tmpfs defaults,nosuid,nodev,size=256M 0 0\n"
           "tmpfs /var/tmp tmpfs defaults,nosuid,nodev 0 0\n"
           "tmpfs /var/log tmpfs defaults,nosuid,nodev,size=64M 0 0\n"
           "tmpfs /var/lib/dhcpcd tmpfs defaults 0 0\n"
           "tmpfs /var/lib/dhcp tmpfs defaults 0 0\n"
           "tmpfs /var/spool tmpfs defaults 0 0\n";
}

template_vars base_vars(const cluster_config& cfg, bool shared) {
    template_vars v;
    v["server_ip"] = cfg.cluster.server_ip.to_string();
    v["boot_dir"] = cfg.tftp.root.string();
    v["ntp_server"] = cfg.cluster.ntp.empty() ? cfg.cluster.server_ip.to_string()
                                              : cfg.cluster.ntp.front().to_string();
    v["domain"] = cfg.cluster.domain;
    v["tmpfs_mounts"] = shared ? shared_tmpfs_mounts() : std::string();
    // The agent reaches the API on the server's cluster address, whatever api.listen binds.
    const auto& listen = cfg.api.listen;
    const auto colon = listen.rfind(':');
    v["api_url"] = fmt::format("http://{}:{}", cfg.cluster.server_ip.to_string(),
                               colon == std::string::npos ? "8067" : listen.substr(colon + 1));
    v["ssh_authorized_keys"] = std::string();
    if (shared)
        v["nfs_root"] = cfg.nfs.base_root.string();
    return v;
}

template_vars node_vars(const cluster_config& cfg, const node& n) {
    auto v = base_vars(cfg, n.root == root_mode::shared);
    v["hostname"] = n.hostname;
    v["ip"] = n.ip.to_string();
    v["position"] = std::int64_t{n.position};
    v["serial"] = n.serial ? format_serial(*n.serial) : std::string();
    v["mac"] = n.mac.to_string();
    auto root = node_root_path(cfg, n);
    v["nfs_root"] = root ? root->string() : std::string();
    return v;
}

tl::expected<std::vector<rendered_file>, std::string>
render_tree(const fs::path& templates_dir, const template_vars& vars, bool skip_unknown,
            std::vector<std::string>* skipped) {
    std::vector<rendered_file> out;
    std::error_code ec;
    fs::recursive_directory_iterator it(templates_dir, ec), end;
    if (ec)
        return tl::make_unexpected(
            fmt::format("templates {}: {}", templates_dir.string(), ec.message()));
    for (; it != end; it.increment(ec)) {
        if (ec)
            return tl::make_unexpected(
                fmt::format("templates {}: {}", templates_dir.string(), ec.message()));
        if (!it->is_regular_file() || it->is_symlink())
            continue;
        std::ifstream in(it->path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        auto rel = it->path().lexically_relative(templates_dir);
        auto text = render_template(ss.str(), vars);
        if (!text) {
            if (skip_unknown) {
                if (skipped)
                    skipped->push_back(rel.string());
                continue;
            }
            return tl::make_unexpected(fmt::format("{}: offset {}: {}", it->path().string(),
                                                   text.error().offset, text.error().message));
        }
        const auto perms = it->status().permissions() &
                           (fs::perms::owner_all | fs::perms::group_all | fs::perms::others_all);
        out.push_back({rel, std::move(*text), perms});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    return out;
}

namespace {

struct fd_guard {
    int fd = -1;
    ~fd_guard() {
        if (fd >= 0)
            ::close(fd);
    }
};

tl::expected<void, std::string> write_one(int root_fd, const fs::path& root,
                                          const rendered_file& f) {
    std::vector<std::string> parts;
    for (const auto& c : f.path)
        parts.push_back(c.string());
    if (parts.empty())
        return tl::make_unexpected("empty template path");
    for (const auto& p : parts)
        if (p.empty() || p == "." || p == ".." || p.find('/') != std::string::npos)
            return tl::make_unexpected(fmt::format("unsafe template path {}", f.path.string()));
    fd_guard dir{::dup(root_fd)};
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        int next = ::openat(dir.fd, parts[i].c_str(), O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT) {
            const mode_t mode = parts[i] == ".ssh" ? 0700 : 0755;
            if (::mkdirat(dir.fd, parts[i].c_str(), mode) != 0 && errno != EEXIST)
                return tl::make_unexpected(
                    fmt::format("mkdir {}: {}", (root / parts[i]).string(), std::strerror(errno)));
            next = ::openat(dir.fd, parts[i].c_str(), O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (next < 0)
            return tl::make_unexpected(fmt::format("{}: {} (a symlink or not a directory?)",
                                                   (root / f.path).string(), std::strerror(errno)));
        ::close(dir.fd);
        dir.fd = next;
    }
    const auto& name = parts.back();
    const auto tmp = name + ".netbootd-tmp";
    ::unlinkat(dir.fd, tmp.c_str(), 0);
    if (!f.link_target.empty()) {
        if (::symlinkat(f.link_target.c_str(), dir.fd, tmp.c_str()) != 0 ||
            ::renameat(dir.fd, tmp.c_str(), dir.fd, name.c_str()) != 0) {
            const int e = errno;
            ::unlinkat(dir.fd, tmp.c_str(), 0);
            return tl::make_unexpected(
                fmt::format("symlink {}: {}", (root / f.path).string(), std::strerror(e)));
        }
        return {};
    }
    fd_guard out{::openat(dir.fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                          static_cast<mode_t>(f.mode))};
    if (out.fd < 0)
        return tl::make_unexpected(
            fmt::format("create {}: {}", (root / f.path).string(), std::strerror(errno)));
    std::size_t off = 0;
    while (off < f.content.size()) {
        ssize_t n = ::write(out.fd, f.content.data() + off, f.content.size() - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return tl::make_unexpected(
                fmt::format("write {}: {}", (root / f.path).string(), std::strerror(errno)));
        off += static_cast<std::size_t>(n);
    }
    ::fchmod(out.fd, static_cast<mode_t>(f.mode));
    ::fsync(out.fd);
    // rename replaces a symlink at the target itself, never what it points to.
    if (::renameat(dir.fd, tmp.c_str(), dir.fd, name.c_str()) != 0) {
        const int e = errno;
        ::unlinkat(dir.fd, tmp.c_str(), 0);
        return tl::make_unexpected(
            fmt::format("rename {}: {}", (root / f.path).string(), std::strerror(e)));
    }
    return {};
}

} // namespace

tl::expected<void, std::string> write_into_root(const fs::path& root,
                                                const std::vector<rendered_file>& files) {
    fd_guard root_fd{::open(root.c_str(), O_DIRECTORY | O_CLOEXEC)};
    if (root_fd.fd < 0)
        return tl::make_unexpected(fmt::format("open {}: {}", root.string(), std::strerror(errno)));
    for (const auto& f : files)
        if (auto r = write_one(root_fd.fd, root, f); !r)
            return r;
    return {};
}

} // namespace netbootd::nfs
