// `netbootctl root ...`: base import, per-node roots (prepare, status, reset, diff, promote,
// clone), exports and libnfs checks.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "netbootd/core/registry.hpp"

namespace netbootd::cli {

void add_root_commands(CLI::App& app);

/// Resolves a destructive command's target: "all" (or anything selecting every node) needs
/// `all_flag`. Returns the nodes or an error message.
tl::expected<std::vector<const node*>, std::string>
select_destructive(const registry& reg, const std::string& expr, bool all_flag);

} // namespace netbootd::cli
