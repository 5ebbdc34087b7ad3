// What the kernel's command line says about its NFS root (spec 2.5): `nfsroot=[server:]path[,opts]`
// and the `hostname=` a rendered cmdline.txt may carry. Pure; the emulator's nfs-root stage mounts
// what this returns.
#pragma once

#include <optional>
#include <string>

#include "netbootd/core/net_types.hpp"

namespace netbootd::emu {

struct nfs_root_target {
    std::string server; ///< address as written, or the default server when the line names none
    std::string path;
    std::string options; ///< after the first comma, e.g. "vers=3,tcp"
};

/// The last `nfsroot=` of a kernel command line (the kernel takes the last), with `server` filled
/// from `default_server` when the value has no "server:" part. nullopt when there is none or its
/// path is not absolute.
std::optional<nfs_root_target> nfsroot_from_cmdline(const std::string& cmdline,
                                                    ipv4_address default_server);

/// The value of the last `key=` word on a command line ("" when absent).
std::string cmdline_value(const std::string& cmdline, const std::string& key);

} // namespace netbootd::emu
