// `netbootctl demo`: a virtual cluster on one machine. Emulated Pis in network namespaces boot
// from a real netbootd through DHCP, TFTP and the kernel's DHCP, in position order, and one node
// is made to fail on purpose so its diagnosis can be seen.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace netbootd::cli::demo {

struct options {
    int nodes = 6;
    bool once = false;
    bool keep = false;
    bool down = false;
    bool no_nfs = false;
    int broken = -1;
    int timeout_s = 180;
    int stagger_ms = 1000;
    std::string workdir = "/tmp/netbootd-demo";
};

int run(const options& o);
void add_demo_command(CLI::App& app);

} // namespace netbootd::cli::demo
