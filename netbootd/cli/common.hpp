// What every netbootctl command shares: where the cluster file is, and loading it with errors
// printed the same way as `netbootd --check-config`.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "netbootd/core/registry.hpp"

namespace netbootd::cli {

/// $NETBOOTD_CONFIG, else /etc/netbootd/cluster.yaml.
std::string default_config_path();

/// Adds `-c,--config FILE` to `cmd`, bound to `target` (initialised to default_config_path()).
CLI::Option* add_config_option(CLI::App& cmd, std::string& target);

/// Loads the cluster file; on failure prints every diagnostic to stderr and returns nullptr.
registry_ptr load_registry_or_report(const std::string& path);

/// Thrown by command handlers to exit with a code after printing their own message.
struct exit_code {
    int code;
};

} // namespace netbootd::cli
