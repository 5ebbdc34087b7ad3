// netbootctl: the operator's command line for netbootd.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "netbootd/cli/common.hpp"
#include "netbootd/cli/daemon_power.hpp"
#include "netbootd/cli/demo_cmd.hpp"
#include "netbootd/cli/nodes_cmd.hpp"
#include "netbootd/cli/power_cmd.hpp"
#include "netbootd/cli/root_cmd.hpp"
#include "netbootd/cli/status_cmd.hpp"

int main(int argc, char** argv) {
    CLI::App app{"netbootctl: inventory, power, roots and boot diagnostics for a netbootd cluster"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("netbootctl ") + NETBOOTD_VERSION);
    netbootd::cli::add_inventory_commands(app);
    netbootd::cli::add_power_commands(app, netbootd::cli::daemon_power_hooks());
    netbootd::cli::add_root_commands(app);
    netbootd::cli::add_diag_commands(app);
    netbootd::cli::demo::add_demo_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const netbootd::cli::exit_code& e) {
        return e.code;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "netbootctl: %s\n", e.what());
        return 1;
    }
    return 0;
}
