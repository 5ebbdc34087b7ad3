// File-tree primitives for roots: a faithful copy (owner, mode, times, symlinks, devices, hard
// links, xattrs such as file capabilities) that reflinks where the filesystem can, and overlayfs
// markers (whiteouts, opaque directories). Never follows a symlink inside a tree.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include <tl/expected.hpp>

namespace netbootd::nfs {

namespace fs = std::filesystem;

struct copy_stats {
    std::uint64_t files = 0;
    std::uint64_t dirs = 0;
    std::uint64_t bytes = 0;
    /// Regular files shared with the source by FICLONE instead of copied.
    std::uint64_t reflinked = 0;
};

struct copy_options {
    /// Keep overlayfs' opaque-directory marker (copying one upper layer onto another); other
    /// trusted.overlay.* attributes describe the source's own layers and are always dropped.
    bool keep_overlay_opaque = false;
    /// Called every 1000 files and at the end.
    std::function<void(const copy_stats&)> progress;
};

/// Copies the tree at `src` to `dst`. `dst` must not exist, or be an existing directory into
/// which the entries of `src` are merged (existing non-directories are replaced).
tl::expected<copy_stats, std::string> copy_tree(const fs::path& src, const fs::path& dst,
                                                const copy_options& opts = {});

/// Copies one non-directory entry (file, symlink, device, fifo) to `dst`, replacing whatever is
/// there atomically (temporary name + rename).
tl::expected<void, std::string> copy_entry(const fs::path& src, const fs::path& dst,
                                           const copy_options& opts, copy_stats& stats);

/// Copies owner, mode, xattrs and times of `src` onto the existing `dst`.
tl::expected<void, std::string> copy_metadata(const fs::path& src, const fs::path& dst,
                                              const copy_options& opts);

/// overlayfs whiteout: a character device 0:0 in an upper layer.
bool is_whiteout(const fs::path& p);
/// overlayfs opaque directory (trusted.overlay.opaque = "y").
bool is_opaque_dir(const fs::path& p);
/// Creates a whiteout at `p`.
tl::expected<void, std::string> make_whiteout(const fs::path& p);

/// Removes a tree without following symlinks; missing is fine.
tl::expected<void, std::string> remove_tree(const fs::path& p);

/// True if `p` is a mount point (listed in /proc/self/mountinfo).
bool is_mount_point(const fs::path& p);

} // namespace netbootd::nfs
