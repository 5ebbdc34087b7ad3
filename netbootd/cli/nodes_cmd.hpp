// `netbootctl nodes [RANGE]`, `netbootctl import FORMAT FILE`, `netbootctl check`.
#pragma once

#include <CLI/CLI.hpp>

#include "netbootd/core/registry.hpp"

namespace netbootd::cli {

void add_inventory_commands(CLI::App& app);

/// The inventory table (position, hostname, MAC, serial, IP, root, power) for `nodes`.
std::string format_nodes_table(const std::vector<const node*>& nodes);
/// The same as a JSON array.
std::string format_nodes_json(const std::vector<const node*>& nodes);

} // namespace netbootd::cli
