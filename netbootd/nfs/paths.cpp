#include "netbootd/nfs/paths.hpp"

#include <fmt/format.h>

namespace netbootd::nfs {

bool is_safe_component(std::string_view name) {
    if (name.empty() || name.size() > 255 || name.front() == '.')
        return false;
    for (char c : name)
        if (c == '/' || c == '\0')
            return false;
    return true;
}

std::string normal_path(const fs::path& p) {
    auto s = p.lexically_normal().string();
    while (s.size() > 1 && s.back() == '/')
        s.pop_back();
    return s;
}

bool is_within(const fs::path& p, const fs::path& dir) {
    const auto a = fs::absolute(p).lexically_normal();
    const auto d = fs::absolute(dir).lexically_normal();
    auto ai = a.begin();
    for (auto di = d.begin(); di != d.end(); ++di, ++ai) {
        if (di->empty()) // trailing separator of "dir/"
            continue;
        if (ai == a.end() || *ai != *di)
            return false;
    }
    return true;
}

fs::path overlay_dir(const cluster_config& cfg, std::string_view hostname) {
    return cfg.nfs.roots_dir / ".overlay" / std::string(hostname);
}

tl::expected<fs::path, std::string> node_root_path(const cluster_config& cfg, const node& n) {
    if (n.root == root_mode::shared)
        return cfg.nfs.base_root;
    if (!is_safe_component(n.hostname))
        return tl::make_unexpected(fmt::format("hostname '{}' cannot name a directory under {}",
                                               n.hostname, cfg.nfs.roots_dir.string()));
    auto p = cfg.nfs.roots_dir / n.hostname;
    if (fs::absolute(p).lexically_normal() == fs::absolute(cfg.nfs.base_root).lexically_normal() ||
        is_within(cfg.nfs.base_root, p))
        return tl::make_unexpected(fmt::format("{}: root {} would be the base root {}", n.hostname,
                                               p.string(), cfg.nfs.base_root.string()));
    if (!is_within(p, cfg.nfs.roots_dir))
        return tl::make_unexpected(fmt::format("{}: root {} escapes {}", n.hostname, p.string(),
                                               cfg.nfs.roots_dir.string()));
    return p;
}

tl::expected<node_layout, std::string> layout_for(const cluster_config& cfg, const node& n) {
    auto root = node_root_path(cfg, n);
    if (!root)
        return tl::make_unexpected(root.error());
    node_layout l;
    l.root = *root;
    if (n.root == root_mode::overlay) {
        const auto d = overlay_dir(cfg, n.hostname);
        l.upper = d / "upper";
        l.work = d / "work";
    }
    if (!cfg.nfs.content_dir.empty()) {
        if (!is_safe_component(n.hostname))
            return tl::make_unexpected(fmt::format("hostname '{}' cannot name a directory under {}",
                                                   n.hostname, cfg.nfs.content_dir.string()));
        l.content = cfg.nfs.content_dir / n.hostname;
    }
    return l;
}

} // namespace netbootd::nfs
