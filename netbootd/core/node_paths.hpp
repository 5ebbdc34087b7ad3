// Where a node's files live, derived from the config in one place so every module (TFTP's
// rendered cmdline.txt, the NFS exports) agrees.
#pragma once

#include <filesystem>

#include "netbootd/core/config.hpp"
#include "netbootd/core/node.hpp"

namespace netbootd {

/// The server-side path of the node's NFS root, as cmdline.txt's `nfsroot=` names it:
/// `shared` nodes mount `nfs.base_root`; `overlay` and `clone` nodes mount
/// `<nfs.roots_dir>/<hostname>`.
std::filesystem::path nfs_root_path(const cluster_config& cfg, const node& n);

} // namespace netbootd
