// Applies an export plan through the configured NFS server: `kernel` (exports.d file +
// `exportfs -ra`), `ganesha` (EXPORT blocks + SIGHUP, which makes Ganesha reload its exports) or
// `none` (only describes what it would export).
#pragma once

#include <filesystem>
#include <span>
#include <string>

#include <tl/expected.hpp>

#include "netbootd/core/config.hpp"
#include "netbootd/nfs/exports.hpp"
#include "netbootd/nfs/roots.hpp"

namespace netbootd::nfs {

/// The file the backend writes: nfs.exports_file, else /etc/exports.d/netbootd.exports (kernel)
/// or /etc/ganesha/netbootd-exports.conf (ganesha); empty for none.
std::filesystem::path exports_file(const cluster_config& cfg);

/// The text the backend would write (kernel/ganesha format, or the plan for none).
std::string render_for_backend(nfs_backend b, std::span<const export_entry> exports);

struct apply_result {
    /// What was written or would be: the file's content (or the plan for `none`).
    std::string text;
    /// "wrote /etc/exports.d/netbootd.exports (5 exports), exportfs -ra: ok".
    std::string summary;
};

/// Writes the exports atomically (unchanged content is not rewritten unless `force`) and makes
/// the server pick them up. Events: nfs.exports_applied, nfs.exports_failed.
tl::expected<apply_result, std::string> apply_exports(const cluster_config& cfg,
                                                      std::span<const export_entry> exports,
                                                      const event_sink& sink, bool force = false);

} // namespace netbootd::nfs
