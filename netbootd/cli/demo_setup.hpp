// What the demo cluster is made of: its nodes (a mix of Pi 3, 4 and 5), its cluster file, and
// small generated stand-ins for the firmware, kernels and a tiny root. Pure except write_tree.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "netbootd/core/net_types.hpp"

namespace netbootd::cli::demo {

struct demo_node {
    int position = 0;
    /// The emulator's model: "pi3b-rom", "pi4", "pi5".
    std::string emu_model;
    /// The config's model: "pi3b", "pi4", "pi5".
    std::string model;
    mac_address mac;
    std::uint32_t serial = 0;
    std::string hostname;
    ipv4_address ip;
    /// Made to fail on purpose: its own config.txt names a kernel its view does not have.
    bool broken = false;
};

struct demo_plan {
    std::filesystem::path workdir;
    std::vector<demo_node> nodes;
    ipv4_address server_ip;
    std::string api_listen;
    std::filesystem::path api_socket;
    /// Bearer token for mutating API calls (power); written to workdir/api.token.
    std::string api_token;
    std::string broken_kernel = "kernel8-custom.img";
    /// Node roots are overlays served by NFS-Ganesha (started by the demo in the server's
    /// namespace); false: no NFS backend, the nodes skip the nfs-root stage.
    bool nfs = false;
};

/// Nodes 1..count cycling Pi 3B, Pi 4, Pi 5 with deterministic MACs and serials; `broken` (0 =
/// none) is the position made to fail.
demo_plan make_plan(int count, int broken, const std::filesystem::path& workdir);

/// The cluster file for the plan (sim power driver, api on the server address and a unix socket).
std::string render_config(const demo_plan& plan);

/// A file name and its content, relative to the workdir.
struct demo_file {
    std::string path;
    std::string content;
};

/// Stand-in boot files (bootcode.bin, start*.elf, fixup*.dat, dtbs, kernels), the boot
/// templates, the broken node's own config.txt, and a tiny base root.
std::vector<demo_file> make_files(const demo_plan& plan);

/// The NFS-Ganesha configuration for the demo (NFSv3 on the server address, the exports file
/// netbootd writes included).
std::string render_ganesha_config(const demo_plan& plan);

/// Writes the files under plan.workdir (creating directories). Returns an error message or "".
std::string write_tree(const demo_plan& plan, const std::vector<demo_file>& files);

} // namespace netbootd::cli::demo
