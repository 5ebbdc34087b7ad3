// Turns a requested file name into what a node should get: its boot *view*.
//
// Order, every step confined to its directory (openat2 RESOLVE_BENEATH, so neither `..` nor a
// symlink can leave it):
//   1. the node's own directory  <tftp.nodes_dir>/<hostname>/<path>
//   2. a file rendered from       <tftp.templates_dir>/<path>   (or <path>.append: the file from
//      step 3 followed by the rendered text, for config.txt additions)
//   3. the shared firmware        <tftp.root>/<path>
// The node is the one named by the Pi's prefix directory (8-hex serial or dashed MAC), else the
// node whose configured `tftp_prefix` (the EEPROM's TFTP_PREFIX_STR, prepended verbatim) is the
// longest one the name starts with, else the node owning the client's IP. A serial/MAC prefix
// naming no node is looked up literally in the shared root (usually "not found", which makes the
// Pi drop its prefix).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "netbootd/core/config.hpp"
#include "netbootd/core/registry.hpp"
#include "netbootd/tftp/content.hpp"
#include "netbootd/tftp/file_cache.hpp"

namespace netbootd::tftp {

/// Checks a requested name and returns it normalised (empty and "." components dropped).
/// Refuses: absolute paths, "..", backslashes, NUL and control bytes, names over 255 bytes,
/// components over 128 bytes, more than 16 components. The error is a short reason.
tl::expected<std::string, std::string> sanitize_path(std::string_view requested);

/// True for files the Pi firmware probes for by design and expects to be missing
/// (bootsig.bin, recovery.elf, pieeprom.sig, ...), and for the prefix probes under a prefix that
/// names no node (`<serial>/start4.elf`).
bool is_expected_probe(std::string_view path, bool unknown_prefix);

enum class view_source { node_dir, rendered, shared };
std::string_view to_string(view_source s);

struct resolution {
    enum class status { found, not_found, refused, failed };
    status result = status::not_found;
    /// The node this request belongs to (by prefix, else by client IP), if any.
    const node* for_node = nullptr;
    /// "27e247cc", "dc-a6-32-01-36-c2", the node's configured tftp_prefix ("rack1-07/", verbatim)
    /// or "" when the request had no prefix.
    std::string prefix;
    bool unknown_prefix = false;
    /// The path inside the view (prefix removed).
    std::string path;
    view_source source = view_source::shared;
    content_ptr data;
    /// Why it was refused or failed (for events).
    std::string reason;
    bool expected_probe = false;
};

class resolver {
  public:
    explicit resolver(file_cache& cache) : cache_(cache) {}

    /// Resolves `requested` from `client` against the registry snapshot `reg`.
    resolution resolve(const registry& reg, ipv4_address client, std::string_view requested);

  private:
    file_cache& cache_;
};

} // namespace netbootd::tftp
