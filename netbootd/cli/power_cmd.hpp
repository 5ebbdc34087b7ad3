// `netbootctl power on|off|cycle|status RANGE [--stagger 2s] [--max-parallel 4]
//  [--wait-for dhcp|tftp|up] [--timeout 120s] [--dry-run] [--all]`.
// Acts in position order with a progress line per node. Through a running daemon when a
// `via_daemon` hook is given and answers; directly from the cluster file otherwise.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "netbootd/core/registry.hpp"
#include "netbootd/power/driver_factory.hpp"
#include "netbootd/power/enrollment.hpp"
#include "netbootd/power/executor.hpp"
#include "netbootd/power/sequencer.hpp"

namespace netbootd::cli {

/// One parsed `power` command.
struct power_command {
    power::power_action action = power::power_action::status;
    std::string range;
    std::string config_path;
    /// Stagger, parallelism, wait point, timeout and dry run, after config defaults.
    power::sequence_options options;
    /// --all given (required to switch every node at once).
    bool all = false;
    /// Which options the user typed (so a daemon can apply its own defaults to the rest).
    bool stagger_set = false;
    bool max_parallel_set = false;

    /// The options the user did not type, from `power.sequence` of the config.
    void apply_sequence_defaults(const cluster_config& cfg) {
        if (!stagger_set)
            options.stagger = cfg.power.sequence.stagger;
        if (!max_parallel_set)
            options.max_parallel = cfg.power.sequence.max_parallel;
    }
};

/// The config's power drivers, or the config's errors on stderr and exit_code{1}.
power::driver_set drivers_or_exit(const cluster_config& cfg);

struct power_cli_hooks {
    /// Runs the command through a running daemon's API and returns the exit code, or nullopt
    /// when no daemon answers (then the CLI acts directly from the cluster file).
    std::function<std::optional<int>(const power_command&)> via_daemon;
    /// For `enroll`: a source of the daemon's `dhcp.unknown_client` events (mac, serial), or
    /// an empty function when no daemon answers (enroll then refuses to run).
    std::function<power::unknown_client_source(const std::string& config_path)> unknown_clients;
    /// For `enroll`: switches slots through the daemon (its drivers, its event log), or
    /// nullptr / an empty function to switch them with the cluster file's drivers.
    std::function<std::unique_ptr<power::power_executor>(const std::string& config_path)>
        daemon_executor;
};

/// Adds the `power` subcommand group and `enroll`.
void add_power_commands(CLI::App& app, power_cli_hooks hooks = {});

/// Runs a parsed command over `reg` with `exec`: selects the nodes, checks --all, sequences,
/// prints progress to `out` and problems to `err`. Returns the exit code: 0 all nodes fine,
/// 1 some node failed or timed out, 2 a usage error (range matched nothing, --all missing).
int run_power_command(const power_command& cmd, const registry& reg, power::power_executor& exec,
                      std::FILE* out, std::FILE* err,
                      power::sequence_clock clock = power::sequence_clock::real(),
                      power::wait_predicate wait = {}, event_bus* events = nullptr);

/// One parsed `enroll` command.
struct enroll_command {
    std::string range;
    std::string config_path;
    std::chrono::milliseconds timeout{60000};
    /// Empty: enrolled-nodes.yaml next to the config.
    std::string file;
    bool leave_on = false;
};

/// Enrolls the positions of `cmd.range` with `source` as the daemon's unknown-client stream,
/// printing one line per slot. Returns 0 when every slot is bound, 1 when some slot stayed
/// empty or failed, 2 for a bad range.
int run_enroll_command(const enroll_command& cmd, const registry& reg, power::power_executor& exec,
                       power::unknown_client_source source, std::FILE* out, std::FILE* err);

/// One progress line: "  2  node02  on       ok" / "  3  node03  on       FAILED  relay ...".
std::string format_outcome(power::power_action a, const power::node_outcome& o);

} // namespace netbootd::cli
