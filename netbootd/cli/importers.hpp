// Importers for what operators have today: dnsmasq `dhcp-host=` lines (the reference cluster's
// /etc/dnsmasq.d/mac_table), `position MAC` tables (/opt/mac_nodes) and /etc/ethers. Pure: text in,
// nodes and located errors out.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netbootd/core/config.hpp"

namespace netbootd::cli {

enum class import_format { dnsmasq, table, ethers };

/// One node as found in the source; unset fields were not in it.
struct imported_node {
    int position = 0;
    mac_address mac;
    std::optional<std::string> hostname;
    std::optional<ipv4_address> ip;
    /// How the position was found ("hostname", "ip", "column", "order"), for the YAML comment.
    std::string position_from;
    int line = 0;
};

struct import_result {
    std::vector<imported_node> nodes;
    /// "mac_table:7: ..." for lines that could not be used.
    std::vector<diagnostic> errors;
    /// Lines that were recognised as not describing a host (other dnsmasq options, comments).
    int skipped = 0;
};

/// Parses `text` (the content of `name`). Positions come from the source when it has them:
/// the table's first column; else the hostname's trailing number (node35 → 35); else the IP's
/// last octet; else the next free position in file order. Duplicate MACs or positions are errors.
import_result import_nodes(std::string_view text, const std::string& name, import_format format);

/// The `nodes:` YAML for a cluster file, one flow mapping per node, ordered by position.
std::string to_nodes_yaml(const import_result& r, const std::string& source);

} // namespace netbootd::cli
