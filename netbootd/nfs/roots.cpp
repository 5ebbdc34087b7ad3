#include "netbootd/nfs/roots.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <sys/mount.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include "netbootd/nfs/agent.hpp"
#include "netbootd/nfs/render.hpp"

namespace netbootd::nfs {

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

bool lexists(const fs::path& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0;
}

bool is_real_dir(const fs::path& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool dir_has_entries(const fs::path& p) {
    std::error_code ec;
    return is_real_dir(p) && fs::directory_iterator(p, ec) != fs::directory_iterator();
}

tl::expected<void, std::string> make_dirs(const fs::path& p) {
    std::error_code ec;
    fs::create_directories(p, ec);
    if (ec)
        return tl::make_unexpected(fmt::format("mkdir {}: {}", p.string(), ec.message()));
    return {};
}

// overlayfs' mount options are comma-separated and ':' separates lower layers.
bool option_safe(const fs::path& p) {
    return p.string().find_first_of(",:\\") == std::string::npos;
}

// Overlay upper layer vs base: what the node added, changed or deleted.
void walk_upper(const fs::path& upper, const fs::path& base, const std::string& rel,
                std::vector<root_change>& out) {
    std::error_code ec;
    std::vector<fs::path> entries;
    for (fs::directory_iterator it(upper / rel.substr(rel.empty() ? 0 : 1), ec), end;
         !ec && it != end; it.increment(ec))
        entries.push_back(it->path());
    std::sort(entries.begin(), entries.end());
    for (const auto& u : entries) {
        const auto name = u.filename().string();
        const auto r = rel + "/" + name;
        const auto b = base / r.substr(1);
        if (is_whiteout(u)) {
            out.push_back({root_change::kind::deleted, r, is_real_dir(b)});
        } else if (is_real_dir(u)) {
            if (!lexists(b))
                out.push_back({root_change::kind::added, r, true});
            else if (is_opaque_dir(u) || !is_real_dir(b))
                out.push_back({root_change::kind::replaced, r, true});
            else
                walk_upper(upper, base, r, out);
        } else {
            out.push_back(
                {lexists(b) ? root_change::kind::modified : root_change::kind::added, r, false});
        }
    }
}

bool same_entry(const fs::path& a, const fs::path& b, const struct stat& sa,
                const struct stat& sb) {
    if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT) || sa.st_mode != sb.st_mode ||
        sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid)
        return false;
    if (S_ISLNK(sa.st_mode)) {
        std::error_code e1, e2;
        return fs::read_symlink(a, e1) == fs::read_symlink(b, e2);
    }
    if (S_ISREG(sa.st_mode))
        return sa.st_size == sb.st_size && sa.st_mtim.tv_sec == sb.st_mtim.tv_sec &&
               sa.st_mtim.tv_nsec == sb.st_mtim.tv_nsec;
    if (S_ISCHR(sa.st_mode) || S_ISBLK(sa.st_mode))
        return sa.st_rdev == sb.st_rdev;
    return true;
}

// A clone vs base: a full tree compare by type, mode, owner, size and mtime.
void compare_trees(const fs::path& root, const fs::path& base, const std::string& rel,
                   std::vector<root_change>& out) {
    std::set<std::string> names;
    std::error_code ec;
    const auto sub = rel.empty() ? std::string() : rel.substr(1);
    for (fs::directory_iterator it(root / sub, ec), end; !ec && it != end; it.increment(ec))
        names.insert(it->path().filename().string());
    for (fs::directory_iterator it(base / sub, ec), end; !ec && it != end; it.increment(ec))
        names.insert(it->path().filename().string());
    for (const auto& name : names) {
        const auto r = rel + "/" + name;
        const auto a = root / r.substr(1);
        const auto b = base / r.substr(1);
        struct stat sa, sb;
        const bool ha = ::lstat(a.c_str(), &sa) == 0;
        const bool hb = ::lstat(b.c_str(), &sb) == 0;
        if (ha && !hb)
            out.push_back({root_change::kind::added, r, S_ISDIR(sa.st_mode)});
        else if (!ha && hb)
            out.push_back({root_change::kind::deleted, r, S_ISDIR(sb.st_mode)});
        else if (S_ISDIR(sa.st_mode) && S_ISDIR(sb.st_mode))
            compare_trees(root, base, r, out);
        else if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT))
            out.push_back({root_change::kind::replaced, r, S_ISDIR(sa.st_mode)});
        else if (!same_entry(a, b, sa, sb))
            out.push_back({root_change::kind::modified, r, false});
    }
}

// Applies an upper layer onto the base: whiteouts delete, opaque directories replace, everything
// else is copied over. Entries in `skip` (relative paths) are left alone.
tl::expected<void, std::string> apply_upper(const fs::path& upper, const fs::path& base,
                                            const std::string& rel,
                                            const std::set<std::string>& skip, copy_stats& stats) {
    std::error_code ec;
    std::vector<fs::path> entries;
    const auto sub = rel.empty() ? std::string() : rel.substr(1);
    for (fs::directory_iterator it(upper / sub, ec), end; !ec && it != end; it.increment(ec))
        entries.push_back(it->path());
    if (ec)
        return tl::make_unexpected(
            fmt::format("read {}: {}", (upper / sub).string(), ec.message()));
    copy_options opts;
    for (const auto& u : entries) {
        const auto r = rel + "/" + u.filename().string();
        if (skip.count(r))
            continue;
        const auto b = base / r.substr(1);
        if (is_whiteout(u)) {
            if (auto x = remove_tree(b); !x)
                return x;
        } else if (is_real_dir(u)) {
            if (is_opaque_dir(u) || !is_real_dir(b)) {
                if (auto x = remove_tree(b); !x)
                    return x;
                if (::mkdir(b.c_str(), 0700) != 0)
                    return tl::make_unexpected(
                        fmt::format("mkdir {}: {}", b.string(), std::strerror(errno)));
            }
            if (auto x = apply_upper(upper, base, r, skip, stats); !x)
                return x;
            if (auto x = copy_metadata(u, b, opts); !x)
                return x;
        } else {
            if (auto x = copy_entry(u, b, opts, stats); !x)
                return x;
        }
    }
    return {};
}

} // namespace

std::string_view to_string(prepare_action a) {
    switch (a) {
    case prepare_action::use_base:
        return "use-base";
    case prepare_action::create_overlay:
        return "create-overlay";
    case prepare_action::mount_overlay:
        return "mount-overlay";
    case prepare_action::create_clone:
        return "create-clone";
    case prepare_action::ready:
        return "ready";
    case prepare_action::missing_base:
        return "missing-base";
    case prepare_action::conflict:
        return "conflict";
    }
    return "?";
}

std::string_view to_string(root_change::kind k) {
    switch (k) {
    case root_change::kind::added:
        return "added";
    case root_change::kind::modified:
        return "modified";
    case root_change::kind::deleted:
        return "deleted";
    case root_change::kind::replaced:
        return "replaced";
    }
    return "?";
}

prepare_action decide_prepare(root_mode mode, const observed_root& o) {
    if (!o.base_exists)
        return prepare_action::missing_base;
    switch (mode) {
    case root_mode::shared:
        return prepare_action::use_base;
    case root_mode::overlay:
        if (o.root_mounted)
            return o.upper_exists ? prepare_action::ready : prepare_action::conflict;
        if (o.root_has_files)
            return prepare_action::conflict; // a clone (or something else) lives there
        return o.upper_exists ? prepare_action::mount_overlay : prepare_action::create_overlay;
    case root_mode::clone:
        if (o.root_mounted || o.upper_exists)
            return prepare_action::conflict; // still an overlay: reset it first
        return o.root_has_files ? prepare_action::ready : prepare_action::create_clone;
    }
    return prepare_action::conflict;
}

root_manager::root_manager(const cluster_config& cfg, event_sink sink)
    : cfg_(cfg), sink_(std::move(sink)) {}

void emit_nfs_event(const event_sink& sink, std::string kind, severity level, nlohmann::json fields,
                    const node* n) {
    if (!sink)
        return;
    event e;
    e.source = "nfs";
    e.kind = std::move(kind);
    e.level = level;
    if (n) {
        e.position = n->position;
        e.mac = n->mac;
        e.ip = n->ip;
        fields["hostname"] = n->hostname;
    }
    e.fields = std::move(fields);
    sink(std::move(e));
}

void root_manager::emit(const node& n, std::string kind, severity level,
                        nlohmann::json fields) const {
    emit_nfs_event(sink_, std::move(kind), level, std::move(fields), &n);
}

tl::expected<void, std::string> root_manager::fail(const node& n, std::string_view op,
                                                   std::string reason) const {
    emit(n, "nfs.root_failed", severity::error, {{"op", op}, {"reason", reason}});
    return tl::make_unexpected(std::move(reason));
}

observed_root root_manager::observe(const node& n) const {
    observed_root o;
    o.base_exists = is_real_dir(cfg_.nfs.base_root);
    if (n.root == root_mode::shared)
        return o;
    auto l = layout_for(cfg_, n);
    if (!l)
        return o;
    o.root_exists = is_real_dir(l->root);
    o.root_mounted = o.root_exists && is_mount_point(l->root);
    o.root_has_files = !o.root_mounted && dir_has_entries(l->root);
    o.upper_exists = is_real_dir(overlay_dir(cfg_, n.hostname) / "upper");
    return o;
}

root_status root_manager::status(const node& n) const {
    root_status s;
    s.mode = n.root;
    auto l = layout_for(cfg_, n);
    if (!l) {
        s.error = l.error();
        s.pending = prepare_action::conflict;
        return s;
    }
    s.path = l->root;
    const auto o = observe(n);
    s.mounted = o.root_mounted;
    s.pending = decide_prepare(n.root, o);
    return s;
}

tl::expected<void, std::string> root_manager::mount_overlay(const node_layout& l) {
    for (const auto* p : {&cfg_.nfs.base_root, &l.upper, &l.work, &l.root})
        if (!option_safe(*p))
            return tl::make_unexpected(
                fmt::format("{}: ',', ':' or '\\' cannot appear in an overlay path", p->string()));
    // index=on + nfs_export=on give overlay files stable, decodable file handles: without them
    // NFS servers refuse the export (Ganesha: "Could not get handle").
    const auto opts = fmt::format("lowerdir={},upperdir={},workdir={},index=on,nfs_export=on",
                                  fs::absolute(cfg_.nfs.base_root).string(),
                                  fs::absolute(l.upper).string(), fs::absolute(l.work).string());
    if (::mount("overlay", l.root.c_str(), "overlay", 0, opts.c_str()) != 0)
        return tl::make_unexpected(
            fmt::format("mount overlay on {}: {}", l.root.string(), std::strerror(errno)));
    return {};
}

tl::expected<void, std::string> root_manager::unmount(const node& n) {
    if (n.root == root_mode::shared)
        return {};
    auto l = layout_for(cfg_, n);
    if (!l)
        return tl::make_unexpected(l.error());
    while (is_mount_point(l->root)) {
        if (::umount2(l->root.c_str(), 0) != 0) {
            if (errno != EBUSY)
                return tl::make_unexpected(
                    fmt::format("umount {}: {}", l->root.string(), std::strerror(errno)));
            // In use (an NFS server holds it): detach now, the kernel frees it when released.
            if (::umount2(l->root.c_str(), MNT_DETACH) != 0)
                return tl::make_unexpected(
                    fmt::format("umount {}: {}", l->root.string(), std::strerror(errno)));
            emit(n, "nfs.root_detached", severity::warning, {{"path", l->root.string()}});
        }
    }
    return {};
}

tl::expected<void, std::string> root_manager::create_clone(const node& n, const fs::path& from,
                                                           const fs::path& to) {
    auto tmp = to;
    tmp += ".netbootd-new";
    (void)remove_tree(tmp);
    const auto t0 = clock_type::now();
    copy_options opts;
    auto last = clock_type::now();
    opts.progress = [&](const copy_stats& s) {
        if (clock_type::now() - last < std::chrono::seconds(2))
            return;
        last = clock_type::now();
        emit(n, "nfs.root_progress", severity::info,
             {{"op", "clone"}, {"files", s.files}, {"bytes", s.bytes}});
    };
    auto r = copy_tree(from, tmp, opts);
    if (!r) {
        (void)remove_tree(tmp);
        return tl::make_unexpected(r.error());
    }
    auto old = to;
    old += ".netbootd-old";
    (void)remove_tree(old);
    if (lexists(to) && ::rename(to.c_str(), old.c_str()) != 0)
        return tl::make_unexpected(fmt::format("rename {}: {}", to.string(), std::strerror(errno)));
    if (::rename(tmp.c_str(), to.c_str()) != 0)
        return tl::make_unexpected(
            fmt::format("rename {}: {}", tmp.string(), std::strerror(errno)));
    (void)remove_tree(old);
    emit(n, "nfs.root_copied", severity::info,
         {{"from", from.string()},
          {"files", r->files},
          {"bytes", r->bytes},
          {"reflinked", r->reflinked},
          {"ms", ms_since(t0)}});
    return {};
}

std::vector<std::string> root_manager::per_node_paths(const node& n) const {
    std::vector<std::string> out;
    if (!cfg_.nfs.templates_dir.empty()) {
        auto vars = node_vars(cfg_, n);
        vars["ssh_authorized_keys"] = std::string();
        if (auto files = render_tree(cfg_.nfs.templates_dir, vars, true))
            for (const auto& f : *files)
                out.push_back("/" + f.path.string());
    }
    if (cfg_.nfs.agent)
        for (const auto& f : agent_files())
            out.push_back("/" + f.path.string());
    return out;
}

tl::expected<void, std::string> root_manager::render(const node& n) {
    const bool shared = n.root == root_mode::shared;
    auto vars = shared ? base_vars(cfg_, true) : node_vars(cfg_, n);
    if (cfg_.nfs.authorized_keys && !cfg_.nfs.authorized_keys->empty()) {
        std::ifstream in(*cfg_.nfs.authorized_keys, std::ios::binary);
        if (!in)
            return fail(n, "render",
                        fmt::format("nfs.authorized_keys: cannot read {}",
                                    cfg_.nfs.authorized_keys->string()));
        std::stringstream keys;
        keys << in.rdbuf();
        vars["ssh_authorized_keys"] = keys.str();
    }
    std::vector<std::string> skipped;
    tl::expected<std::vector<rendered_file>, std::string> files;
    if (!cfg_.nfs.templates_dir.empty())
        files = render_tree(cfg_.nfs.templates_dir, vars, shared, &skipped);
    if (!files)
        return fail(n, "render", files.error());
    if (cfg_.nfs.agent)
        for (auto& f : agent_files())
            files->push_back(std::move(f));
    if (files->empty())
        return {};
    auto root = node_root_path(cfg_, n);
    if (!root)
        return fail(n, "render", root.error());
    if (auto r = write_into_root(*root, *files); !r)
        return fail(n, "render", r.error());
    nlohmann::json names = nlohmann::json::array();
    for (const auto& f : *files)
        names.push_back(f.path.string());
    emit(n, "nfs.root_rendered", severity::debug,
         {{"path", root->string()}, {"files", names}, {"skipped", skipped}});
    return {};
}

tl::expected<void, std::string> root_manager::prepare_content(const node& n) {
    auto l = layout_for(cfg_, n);
    if (!l)
        return fail(n, "content", l.error());
    if (l->content.empty())
        return {};
    if (auto r = make_dirs(l->content); !r)
        return fail(n, "content", r.error());
    return {};
}

tl::expected<prepare_action, std::string> root_manager::prepare(const node& n) {
    const auto t0 = clock_type::now();
    auto l = layout_for(cfg_, n);
    if (!l) {
        (void)fail(n, "prepare", l.error());
        return tl::make_unexpected(l.error());
    }
    const auto action = decide_prepare(n.root, observe(n));
    auto failed = [&](std::string reason) -> tl::expected<prepare_action, std::string> {
        (void)fail(n, "prepare", reason);
        return tl::make_unexpected(std::move(reason));
    };
    switch (action) {
    case prepare_action::missing_base:
        return failed(fmt::format("base root {} does not exist (netbootctl root import)",
                                  cfg_.nfs.base_root.string()));
    case prepare_action::conflict:
        return failed(fmt::format("{} holds a root of another mode than '{}': reset or remove it",
                                  l->root.string(), to_string(n.root)));
    case prepare_action::use_base:
    case prepare_action::ready:
        break;
    case prepare_action::create_overlay:
    case prepare_action::mount_overlay:
        for (const auto* p : {&l->upper, &l->work, &l->root})
            if (auto r = make_dirs(*p); !r)
                return failed(r.error());
        if (auto r = mount_overlay(*l); !r)
            return failed(r.error());
        break;
    case prepare_action::create_clone:
        if (auto r = create_clone(n, cfg_.nfs.base_root, l->root); !r)
            return failed(r.error());
        break;
    }
    if (action != prepare_action::ready && action != prepare_action::use_base)
        if (auto r = render(n); !r)
            return tl::make_unexpected(r.error());
    if (auto r = prepare_content(n); !r)
        return tl::make_unexpected(r.error());
    emit(n, "nfs.root_ready", severity::info,
         {{"mode", to_string(n.root)},
          {"path", l->root.string()},
          {"action", to_string(action)},
          {"ms", ms_since(t0)}});
    return action;
}

tl::expected<void, std::string> root_manager::reset(const node& n) {
    const auto t0 = clock_type::now();
    auto l = layout_for(cfg_, n);
    if (!l)
        return fail(n, "reset", l.error());
    switch (n.root) {
    case root_mode::shared:
        return fail(n, "reset", "a shared node has no root of its own to reset");
    case root_mode::overlay: {
        if (auto r = unmount(n); !r)
            return fail(n, "reset", r.error());
        const auto d = overlay_dir(cfg_, n.hostname);
        for (const auto* p : {&l->upper, &l->work})
            if (auto r = remove_tree(*p); !r)
                return fail(n, "reset", r.error());
        for (const auto* p : {&l->upper, &l->work, &l->root})
            if (auto r = make_dirs(*p); !r)
                return fail(n, "reset", r.error());
        if (auto r = mount_overlay(*l); !r)
            return fail(n, "reset", r.error());
        (void)d;
        break;
    }
    case root_mode::clone:
        if (!is_real_dir(cfg_.nfs.base_root))
            return fail(n, "reset", "base root " + cfg_.nfs.base_root.string() + " is missing");
        if (auto r = create_clone(n, cfg_.nfs.base_root, l->root); !r)
            return fail(n, "reset", r.error());
        break;
    }
    if (auto r = render(n); !r)
        return r;
    emit(n, "nfs.root_reset", severity::info,
         {{"mode", to_string(n.root)}, {"path", l->root.string()}, {"ms", ms_since(t0)}});
    return {};
}

tl::expected<std::vector<root_change>, std::string> root_manager::diff(const node& n) const {
    auto l = layout_for(cfg_, n);
    if (!l)
        return tl::make_unexpected(l.error());
    std::vector<root_change> out;
    switch (n.root) {
    case root_mode::shared:
        return tl::make_unexpected("a shared node writes nothing of its own (it uses the base)");
    case root_mode::overlay:
        if (!is_real_dir(l->upper))
            return tl::make_unexpected(l->upper.string() + " does not exist (root prepare)");
        walk_upper(l->upper, cfg_.nfs.base_root, "", out);
        break;
    case root_mode::clone:
        if (!is_real_dir(l->root))
            return tl::make_unexpected(l->root.string() + " does not exist (root prepare)");
        compare_trees(l->root, cfg_.nfs.base_root, "", out);
        break;
    }
    const auto per_node = per_node_paths(n);
    for (auto& c : out)
        c.per_node = std::find(per_node.begin(), per_node.end(), c.path) != per_node.end();
    return out;
}

tl::expected<std::vector<root_change>, std::string> root_manager::promote(const node& n,
                                                                          bool dry_run) {
    auto changes = diff(n);
    if (!changes) {
        (void)fail(n, "promote", changes.error());
        return changes;
    }
    if (dry_run)
        return changes;
    auto l = layout_for(cfg_, n);
    std::set<std::string> skip;
    for (const auto& c : *changes)
        if (c.per_node)
            skip.insert(c.path);
    const auto t0 = clock_type::now();
    copy_stats stats;
    auto failed = [&](std::string reason) -> tl::expected<std::vector<root_change>, std::string> {
        (void)fail(n, "promote", reason);
        return tl::make_unexpected(std::move(reason));
    };
    if (n.root == root_mode::overlay) {
        // The node's layer must be still while it is read: unmount, apply, then start it again
        // on an empty layer (its changes are in the base now).
        if (auto r = unmount(n); !r)
            return failed(r.error());
        if (auto r = apply_upper(l->upper, cfg_.nfs.base_root, "", skip, stats); !r)
            return failed(r.error());
    } else {
        copy_options opts;
        for (const auto& c : *changes) {
            if (c.per_node)
                continue;
            const auto src = l->root / c.path.substr(1);
            const auto dst = cfg_.nfs.base_root / c.path.substr(1);
            tl::expected<void, std::string> r;
            if (c.what == root_change::kind::deleted)
                r = remove_tree(dst);
            else if (c.is_dir) {
                r = remove_tree(dst);
                if (r) {
                    auto cr = copy_tree(src, dst);
                    if (!cr)
                        r = tl::make_unexpected(cr.error());
                }
            } else
                r = copy_entry(src, dst, opts, stats);
            if (!r)
                return failed(r.error());
        }
    }
    emit(n, "nfs.root_promoted", severity::warning,
         {{"changes", changes->size()},
          {"skipped_per_node", skip.size()},
          {"base", cfg_.nfs.base_root.string()},
          {"ms", ms_since(t0)}});
    if (n.root == root_mode::overlay)
        if (auto r = reset(n); !r)
            return tl::make_unexpected(r.error());
    return changes;
}

tl::expected<void, std::string> root_manager::clone_from(const node& target, const node& source) {
    const auto t0 = clock_type::now();
    if (target.position == source.position)
        return fail(target, "clone", "a node cannot be cloned from itself");
    auto lt = layout_for(cfg_, target);
    auto ls = layout_for(cfg_, source);
    if (!lt)
        return fail(target, "clone", lt.error());
    if (!ls)
        return fail(target, "clone", ls.error());
    switch (target.root) {
    case root_mode::shared:
        return fail(target, "clone",
                    "a shared node has no root of its own: set root: overlay or "
                    "clone for " +
                        target.hostname);
    case root_mode::overlay: {
        if (source.root == root_mode::clone)
            return fail(target, "clone",
                        "an overlay cannot hold a clone's full tree: make " + target.hostname +
                            " a clone node");
        if (auto r = unmount(target); !r)
            return fail(target, "clone", r.error());
        for (const auto* p : {&lt->upper, &lt->work})
            if (auto r = remove_tree(*p); !r)
                return fail(target, "clone", r.error());
        if (source.root == root_mode::overlay) {
            copy_options opts;
            opts.keep_overlay_opaque = true;
            if (auto r = copy_tree(ls->upper, lt->upper, opts); !r)
                return fail(target, "clone", r.error());
        }
        for (const auto* p : {&lt->upper, &lt->work, &lt->root})
            if (auto r = make_dirs(*p); !r)
                return fail(target, "clone", r.error());
        if (auto r = mount_overlay(*lt); !r)
            return fail(target, "clone", r.error());
        break;
    }
    case root_mode::clone:
        if (!is_real_dir(ls->root))
            return fail(target, "clone", ls->root.string() + " does not exist");
        if (auto r = create_clone(target, ls->root, lt->root); !r)
            return fail(target, "clone", r.error());
        break;
    }
    if (auto r = render(target); !r)
        return r;
    emit(target, "nfs.root_cloned", severity::info,
         {{"from", source.hostname}, {"path", lt->root.string()}, {"ms", ms_since(t0)}});
    return {};
}

} // namespace netbootd::nfs
