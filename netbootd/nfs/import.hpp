// `netbootctl root import`: turns a Raspberry Pi OS image (MBR: FAT boot + ext4 root), a root
// directory or a root tarball into the shared boot files (tftp.root) and a base root, with a
// SHA-256 manifest, then prepares the base for netboot (spec 2.5: SD lines out of fstab, the boot
// files mounted from the server, a cmdline.txt for an NFS root).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "netbootd/core/config.hpp"
#include "netbootd/nfs/roots.hpp"

namespace netbootd::nfs {

namespace fs = std::filesystem;

enum class import_source { image, directory, tarball, unknown };
std::string_view to_string(import_source s);

/// Looks at `p`: a directory, an MBR disk image (0x55AA signature) or a tar archive (by name or
/// the "ustar" magic).
import_source detect_source(const fs::path& p);

/// Pure: the base's fstab for netboot. Drops the SD card's lines (/dev/mmcblk*, PARTUUID=,
/// UUID=, LABEL= for / and /boot*), keeps the rest (proc ...), adds the boot files from the server
/// over NFSv3 at /boot/firmware, and tmpfs mounts when the root is shared read-only.
std::string netboot_fstab(std::string_view original, std::string_view server_ip,
                          std::string_view boot_dir, bool shared_read_only);

/// Pure: a cmdline.txt template for an NFS root from the image's own cmdline.txt: drops root=,
/// rootfstype=, init=, fsck.repair=, rootwait and quiet splash's resize hooks, then appends
/// `root=/dev/nfs nfsroot={server_ip}:{nfs_root},vers=3 rw ip=dhcp rootwait`.
std::string netboot_cmdline_template(std::string_view original);

struct import_options {
    fs::path source;
    /// The base root to fill (default nfs.base_root).
    fs::path target;
    /// Replace an existing base / boot directory.
    bool force = false;
    /// Progress lines ("copied 12000 files, 480 MB").
    std::function<void(const std::string&)> progress;
};

struct import_result {
    import_source kind = import_source::unknown;
    fs::path root;
    fs::path boot;
    std::uint64_t files = 0;
    std::uint64_t bytes = 0;
    fs::path manifest;
    /// Where the cmdline.txt template was written (empty if not).
    fs::path cmdline_template;
};

/// Imports; on any failure nothing of the old base/boot is lost (new trees are built beside them
/// and swapped in at the end) and every temporary mount is undone.
tl::expected<import_result, std::string>
import_base(const cluster_config& cfg, const import_options& opts, const event_sink& sink);

/// Writes `dir/.. /<name>.sha256` style manifest: "HEX  ./relative/path" per regular file, the
/// format `sha256sum -c` reads (from inside `dir`). Returns the number of files.
tl::expected<std::uint64_t, std::string> write_manifest(const fs::path& dir,
                                                        const fs::path& manifest);

} // namespace netbootd::nfs
