// What netbootd exports over NFS, and the two file formats it writes: kernel exports(5) lines and
// NFS-Ganesha EXPORT blocks. Pure: planning and rendering do no I/O, so they are golden-tested.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "netbootd/core/config.hpp"

namespace netbootd::nfs {

/// One client's access to one export.
struct export_client {
    ipv4_address ip;
    bool read_only = false;
    bool no_root_squash = true;
    /// The node's hostname, for the comment in the rendered file.
    std::string node;
    /// The server's own address, read-only and root-squashed, so `netbootctl root check` can
    /// mount every root from the server (Ganesha hides node-only exports from other addresses).
    bool checker = false;
    bool operator==(const export_client&) const = default;
};

/// One exported directory with every client allowed to mount it.
struct export_entry {
    std::filesystem::path path;
    /// "boot", "base", "root", "content".
    std::string role;
    std::vector<export_client> clients;
    /// Kernel `fsid=`: stable for a path (derived from it), unique within one plan.
    std::uint32_t fsid = 0;
    /// Ganesha `Export_Id` (1..65535): stable for a path, unique within one plan.
    std::uint16_t export_id = 0;
};

/// FNV-1a of the path text: the same path gets the same number on every host and run.
std::uint32_t path_hash(const std::filesystem::path& p);

/// Plans the exports for `nodes`: the boot files (read-only, every node), the base root (shared
/// nodes; read-only unless nfs.shared_writable), each overlay/clone node's root (that node only,
/// read-write, no_root_squash because the node runs as root on it) and each node's content
/// directory when nfs.content_dir is set. Every export also goes read-only (root_squash) to the
/// server's own address, for the checks. Nodes whose paths are unsafe are skipped and named in
/// `errors`. Entries are sorted by path, clients by address.
std::vector<export_entry> plan_exports(const cluster_config& cfg, std::span<const node> nodes,
                                       std::vector<std::string>* errors = nullptr);

/// exports(5) text for /etc/exports.d/netbootd.exports.
std::string render_kernel_exports(std::span<const export_entry> exports);

/// NFS-Ganesha EXPORT blocks (VFS FSAL, NFSv3 and v4, access only through CLIENT blocks).
std::string render_ganesha_exports(std::span<const export_entry> exports);

/// Human-readable plan (the `none` backend prints this).
std::string render_plan(std::span<const export_entry> exports);

} // namespace netbootd::nfs
