// A node of the cluster: one Pi in one rack slot, as the inventory describes it after defaults
// have been applied. Plain data; the registry indexes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "netbootd/core/net_types.hpp"

namespace netbootd {

/// How a node's NFS root is provided.
enum class root_mode { shared, overlay, clone };

std::string_view to_string(root_mode m);
std::optional<root_mode> parse_root_mode(std::string_view text);

/// The board generation, when the operator pins it (`model:`); `detect` classifies per packet.
enum class node_model { detect, pi3b, pi3bplus, pi4, pi5, other };

std::string_view to_string(node_model m);
std::optional<node_model> parse_node_model(std::string_view text);

/// Which power driver and channel switch this node's supply.
struct power_binding {
    std::string driver;
    std::string channel;
    bool operator==(const power_binding&) const = default;
};

struct node {
    int position = 0;
    mac_address mac;
    std::optional<std::uint32_t> serial;
    std::string hostname;
    ipv4_address ip;
    root_mode root = root_mode::shared;
    node_model model = node_model::detect;
    std::optional<power_binding> power;
    /// The EEPROM's TFTP_PREFIX_STR this node's bootloader prepends to every file name
    /// (`TFTP_PREFIX=1`), used verbatim; empty when the node uses the serial or MAC prefix.
    std::string tftp_prefix;
    /// Where the node was defined, for messages ("cluster.yaml:42").
    int line = 0;

    /// "node02 (position 2, b8:27:eb:e2:47:cc)", for log lines.
    std::string describe() const;
    bool operator==(const node&) const = default;
};

} // namespace netbootd
