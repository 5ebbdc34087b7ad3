#include "netbootd/nfs/check.hpp"

#include <fmt/format.h>

#include "netbootd/nfs/client.hpp"
#include "netbootd/nfs/paths.hpp"

#ifdef NETBOOTD_HAVE_LIBNFS
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>
#include <nfsc/libnfs.h>
#endif

namespace netbootd::nfs {

std::string_view to_string(mount_outcome m) {
    switch (m) {
    case mount_outcome::not_tried:
        return "not-tried";
    case mount_outcome::ok:
        return "ok";
    case mount_outcome::refused:
        return "refused";
    case mount_outcome::failed:
        return "failed";
    }
    return "?";
}

bool root_check::ok(bool require_mount) const {
    if (client_allowed == std::optional<bool>(false))
        return false;
    switch (mount) {
    case mount_outcome::ok:
        return has_init && hostname_ok;
    case mount_outcome::refused:
        return listed && !require_mount;
    case mount_outcome::not_tried:
    case mount_outcome::failed:
        return false;
    }
    return false;
}

std::optional<bool> export_allows(const std::vector<listed_export>& listed, const std::string& path,
                                  ipv4_address ip, bool* found) {
    const auto want = normal_path(path);
    for (const auto& e : listed) {
        if (normal_path(e.path) != want)
            continue;
        if (found)
            *found = true;
        if (e.groups.empty())
            return std::nullopt;
        for (const auto& g : e.groups) {
            if (g == "*" || g == ip.to_string())
                return true;
            if (auto net = ipv4_subnet::parse(g); net && net->contains(ip))
                return true;
        }
        return false;
    }
    if (found)
        *found = false;
    return false;
}

#ifdef NETBOOTD_HAVE_LIBNFS

tl::expected<std::vector<listed_export>, std::string> list_exports(const std::string& server) {
    exportnode* list = mount_getexports(server.c_str());
    // libnfs returns NULL both for "no exports" and for errors; an unreachable server is told
    // apart by the mount that follows.
    std::vector<listed_export> out;
    for (exportnode* e = list; e != nullptr; e = e->ex_next) {
        listed_export le;
        le.path = e->ex_dir ? e->ex_dir : "";
        for (groupnode* g = e->ex_groups; g != nullptr; g = g->gr_next)
            if (g->gr_name)
                le.groups.emplace_back(g->gr_name);
        out.push_back(std::move(le));
    }
    if (list)
        mount_free_export_list(list);
    return out;
}

root_check check_node_root(const cluster_config& cfg, const node& n, const std::string& server,
                           const std::vector<listed_export>& listed, bool require_mount,
                           const event_sink& sink) {
    root_check c;
    c.hostname = n.hostname;
    auto emit = [&](std::string kind, severity level, nlohmann::json fields) {
        fields["path"] = c.path;
        fields["server"] = server;
        emit_nfs_event(sink, std::move(kind), level, std::move(fields), &n);
    };
    auto root = node_root_path(cfg, n);
    if (!root) {
        c.detail = root.error();
        emit("nfs.export_missing", severity::error, {{"reason", c.detail}});
        return c;
    }
    c.path = root->string();
    bool found = false;
    c.client_allowed = export_allows(listed, c.path, n.ip, &found);
    c.listed = found;
    if (found && c.client_allowed == std::optional<bool>(false)) {
        c.detail = fmt::format("exported, but not to {}", n.ip.to_string());
        emit("nfs.export_client_missing", severity::error, {{"reason", c.detail}});
        return c;
    }
    // Mount even when the list does not show the export: servers such as Ganesha list only
    // what the asking address may mount, so the mount is the real answer.
    auto session = nfs_client::mount(server, c.path);
    if (!session) {
        const auto& error = session.error().message;
        if (session.error().refused) {
            c.mount = mount_outcome::refused;
            c.detail = fmt::format("this address may not mount it ({}){}", error,
                                   found ? "" : "; not in the export list it is shown");
            emit("nfs.export_refused", require_mount ? severity::error : severity::info,
                 {{"reason", c.detail}, {"listed", found}});
        } else if (!found) {
            c.mount = mount_outcome::failed;
            c.detail = fmt::format("not exported ({})", error);
            emit("nfs.export_missing", severity::error, {{"reason", c.detail}});
        } else {
            c.mount = mount_outcome::failed;
            c.detail = error;
            emit("nfs.export_unmountable", severity::error, {{"reason", error}});
        }
        return c;
    }
    c.listed = true;
    c.mount = mount_outcome::ok;
    c.has_init = session->exists("/sbin/init");
    if (auto text = session->read_small("/etc/hostname", 255))
        c.hostname_read = text->substr(0, text->find('\n'));
    // A shared root carries no per-node hostname (the node takes it from DHCP).
    c.hostname_ok = n.root == root_mode::shared || c.hostname_read == n.hostname;
    if (!c.has_init || !c.hostname_ok) {
        std::vector<std::string> missing;
        if (!c.has_init)
            missing.push_back("/sbin/init");
        if (!c.hostname_ok)
            missing.push_back("/etc/hostname");
        c.detail = fmt::format("missing or wrong: {}", fmt::join(missing, ", "));
        emit("nfs.root_incomplete", severity::error,
             {{"missing", missing}, {"hostname_read", c.hostname_read}});
        return c;
    }
    c.detail = "mounted over NFSv3; /sbin/init and /etc/hostname present";
    emit("nfs.export_ok", severity::info,
         {{"hostname_read", c.hostname_read}, {"mode", to_string(n.root)}});
    return c;
}

#else

tl::expected<std::vector<listed_export>, std::string> list_exports(const std::string&) {
    return tl::make_unexpected("netbootd was built without libnfs");
}

root_check check_node_root(const cluster_config&, const node& n, const std::string&,
                           const std::vector<listed_export>&, bool, const event_sink&) {
    root_check c;
    c.hostname = n.hostname;
    c.detail = "netbootd was built without libnfs";
    return c;
}

#endif

} // namespace netbootd::nfs
