// Where each node's NFS root, overlay layers and content directory live. Every path built here
// stays inside the configured directories: a name that could escape them ('/', "..", NUL, a
// leading '.') is refused even though the config already validates hostnames.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "netbootd/core/config.hpp"
#include "netbootd/core/node.hpp"

namespace netbootd::nfs {

namespace fs = std::filesystem;

/// True if `name` can be used as one path component under a netbootd directory: 1..255 bytes,
/// no '/', no NUL, not "." or "..", no leading '.' (those names are netbootd's own: .overlay).
bool is_safe_component(std::string_view name);

/// The per-node directories of one node. For a shared node `root` is the base and the overlay
/// members are empty.
struct node_layout {
    /// What the node mounts as its root (the export path).
    fs::path root;
    /// Overlay only: the node's copy-on-write layer and overlayfs' work directory.
    fs::path upper;
    fs::path work;
    /// The node's content directory (empty when nfs.content_dir is not set).
    fs::path content;
};

/// The rule for a node's NFS root: shared -> nfs.base_root, overlay/clone ->
/// nfs.roots_dir/<hostname>. Fails if the hostname is not a safe path component or would
/// collide with the base root.
tl::expected<fs::path, std::string> node_root_path(const cluster_config& cfg, const node& n);

/// Every directory of a node (see node_layout); same failures as node_root_path.
tl::expected<node_layout, std::string> layout_for(const cluster_config& cfg, const node& n);

/// Directory holding the overlay layers: roots_dir/.overlay/<hostname>.
fs::path overlay_dir(const cluster_config& cfg, std::string_view hostname);

/// `p` normalised lexically without a trailing '/' ("/a//b/." -> "/a/b"), the form exports use.
std::string normal_path(const fs::path& p);

/// True if `p` (made absolute and normalised lexically) is `dir` or lies below it.
bool is_within(const fs::path& p, const fs::path& dir);

} // namespace netbootd::nfs
