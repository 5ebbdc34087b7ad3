// Per-node NFS roots: the shared base, a copy-on-write overlay per node (overlayfs with
// index=on,nfs_export=on so NFS servers can hand out file handles for it) or a private clone.
// Every operation names its node, stays under nfs.roots_dir and reports itself as an event.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "netbootd/core/config.hpp"
#include "netbootd/core/event.hpp"
#include "netbootd/nfs/fsutil.hpp"
#include "netbootd/nfs/paths.hpp"

namespace netbootd::nfs {

using event_sink = std::function<void(event)>;

/// Sends an "nfs" event to `sink` (nothing when it is empty). With a node, the event is tied to
/// it (position, MAC, IP) and its fields carry the node's hostname.
void emit_nfs_event(const event_sink& sink, std::string kind, severity level, nlohmann::json fields,
                    const node* n = nullptr);

/// What is on disk for a node, as far as the decision below needs it.
struct observed_root {
    bool base_exists = false;
    /// roots_dir/<hostname> exists (directory).
    bool root_exists = false;
    /// roots_dir/<hostname> is non-empty and not a mount point (a clone lives there).
    bool root_has_files = false;
    bool root_mounted = false;
    bool upper_exists = false;
};

enum class prepare_action {
    use_base,       ///< shared: nothing per node
    create_overlay, ///< make upper/work/mountpoint and mount
    mount_overlay,  ///< layers exist (e.g. after a reboot): mount again
    create_clone,   ///< copy the base
    ready,          ///< nothing to do
    missing_base,   ///< cannot: the base root does not exist
    conflict,       ///< the directory holds another mode's root; refuse to guess
};

std::string_view to_string(prepare_action a);

/// Pure: what `prepare` does for a node in `mode` given what is on disk.
prepare_action decide_prepare(root_mode mode, const observed_root& o);

/// One difference between a node's root and the base.
struct root_change {
    enum class kind { added, modified, deleted, replaced };
    kind what = kind::modified;
    /// Relative to the root, starting with '/'.
    std::string path;
    bool is_dir = false;
    /// Rendered per node from templates: never promoted into the base.
    bool per_node = false;
};
std::string_view to_string(root_change::kind k);

struct root_status {
    root_mode mode = root_mode::shared;
    fs::path path;
    prepare_action pending = prepare_action::ready;
    bool mounted = false;
    std::string error;
};

class root_manager {
  public:
    root_manager(const cluster_config& cfg, event_sink sink);

    /// Looks at the disk for `n`.
    observed_root observe(const node& n) const;
    root_status status(const node& n) const;

    /// Creates or mounts the node's root per its mode and renders its per-node files. Returns
    /// what was done.
    tl::expected<prepare_action, std::string> prepare(const node& n);

    /// Discards the node's changes: overlay -> empty upper layer; clone -> fresh copy of the base.
    tl::expected<void, std::string> reset(const node& n);

    /// What the node changed against the base (overlay: its upper layer; clone: a tree compare).
    tl::expected<std::vector<root_change>, std::string> diff(const node& n) const;

    /// Folds the node's changes (except its per-node rendered files) into the base, then resets
    /// the node. With `dry_run`, only returns the list.
    tl::expected<std::vector<root_change>, std::string> promote(const node& n, bool dry_run);

    /// Makes `target`'s root a copy of `source`'s (overlay from overlay copies the upper layer;
    /// clone from anything copies the whole tree).
    tl::expected<void, std::string> clone_from(const node& target, const node& source);

    /// Writes the node's rendered files into its root (overlay/clone) or, for a shared node, the
    /// node-independent files into the base.
    tl::expected<void, std::string> render(const node& n);

    /// Unmounts an overlay root (no-op otherwise).
    tl::expected<void, std::string> unmount(const node& n);

    /// Creates the node's content directory (nfs.content_dir/<hostname>) if configured.
    tl::expected<void, std::string> prepare_content(const node& n);

  private:
    tl::expected<void, std::string> mount_overlay(const node_layout& l);
    tl::expected<void, std::string> create_clone(const node& n, const fs::path& from,
                                                 const fs::path& to);
    std::vector<std::string> per_node_paths(const node& n) const;
    void emit(const node& n, std::string kind, severity level, nlohmann::json fields) const;
    tl::expected<void, std::string> fail(const node& n, std::string_view op,
                                         std::string reason) const;

    const cluster_config& cfg_;
    event_sink sink_;
};

} // namespace netbootd::nfs
