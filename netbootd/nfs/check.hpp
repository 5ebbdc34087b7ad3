// Checks a node's NFS root the way the node will use it, from user space with libnfs: the export
// is listed by the server's MOUNT service for the node's address, it mounts over NFSv3, and it
// holds /sbin/init and the node's rendered /etc/hostname.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "netbootd/core/config.hpp"
#include "netbootd/nfs/roots.hpp"

namespace netbootd::nfs {

/// One export as the server's MOUNT service lists it.
struct listed_export {
    std::string path;
    /// Client names/addresses allowed (may be empty: "everyone" or not disclosed).
    std::vector<std::string> groups;
};

/// MOUNTPROC3_EXPORT against `server`; an error names what failed.
tl::expected<std::vector<listed_export>, std::string> list_exports(const std::string& server);

enum class mount_outcome { not_tried, ok, refused, failed };
std::string_view to_string(mount_outcome m);

struct root_check {
    std::string hostname;
    std::string path;
    bool listed = false;
    /// The node's address is among the export's clients (nullopt: the server did not say).
    std::optional<bool> client_allowed;
    mount_outcome mount = mount_outcome::not_tried;
    bool has_init = false;
    /// The first line of the root's /etc/hostname (empty if unreadable).
    std::string hostname_read;
    bool hostname_ok = false;
    std::string detail;
    /// Everything that was checkable is fine. A refused mount is fine unless `require_mount`
    /// (netbootctl runs on the server, whose address the node-only export rightly refuses).
    bool ok(bool require_mount) const;
};

/// Pure part: whether `listed` shows `path` exported to `ip`. Groups may be addresses, CIDR
/// subnets or "*".
std::optional<bool> export_allows(const std::vector<listed_export>& listed, const std::string& path,
                                  ipv4_address ip, bool* found);

/// Checks `n`'s root on `server` (events: nfs.export_ok, nfs.export_missing,
/// nfs.export_client_missing, nfs.export_refused, nfs.export_unmountable, nfs.root_incomplete).
/// `listed` is the result of list_exports (shared between nodes).
root_check check_node_root(const cluster_config& cfg, const node& n, const std::string& server,
                           const std::vector<listed_export>& listed, bool require_mount,
                           const event_sink& sink);

} // namespace netbootd::nfs
