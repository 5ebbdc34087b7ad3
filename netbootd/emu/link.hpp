// The emulator's view of its network interface: index and MAC via ioctl, address changes by
// running iproute2's `ip` (the emulator runs as root inside its own network namespace).
#pragma once

#include "netbootd/core/net_types.hpp"

#include <chrono>
#include <string>
#include <tl/expected.hpp>
#include <vector>

namespace netbootd::emu {

struct iface_info {
    int index = 0;
    mac_address mac;
    bool up = false;
};

tl::expected<iface_info, std::string> query_iface(const std::string& name);

/// Runs argv (no shell) with stdout sent to /dev/null; fails on a non-zero exit or after `timeout`
/// (the child is then killed).
tl::expected<void, std::string> run_command(const std::vector<std::string>& argv,
                                            std::chrono::milliseconds timeout);

/// Power-on state: the interface carries the Pi's MAC, is up and has no IPv4 address (a stale
/// address would answer the server's ping check and look like a conflict).
tl::expected<iface_info, std::string> prepare_iface(const std::string& name,
                                                    const mac_address& mac);

/// Configures `ip/prefix_len` as the only IPv4 address of the interface.
tl::expected<void, std::string> set_address(const std::string& name, ipv4_address ip,
                                            int prefix_len);

/// Counts the 1 bits of a netmask; nullopt when the mask is not contiguous.
std::optional<int> prefix_length(ipv4_address mask);

} // namespace netbootd::emu
