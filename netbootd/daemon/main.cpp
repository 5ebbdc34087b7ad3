// netbootd: the netboot daemon. `netbootd --config FILE` serves; `--check-config FILE` validates.
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "netbootd/core/config.hpp"
#include "netbootd/core/log.hpp"
#include "netbootd/core/sd_notify.hpp"
#include "netbootd/daemon/app.hpp"

int main(int argc, char** argv) {
    CLI::App cli{
        "netbootd: netboot service for Raspberry Pi clusters (DHCP, TFTP, NFS roots, power)"};
    std::string config_file;
    std::string check_file;
    std::string log_level = "info";
    bool version = false;
    cli.add_option("-c,--config", config_file,
                   "cluster file to serve (e.g. /etc/netbootd/cluster.yaml)");
    cli.add_option(
        "--check-config", check_file,
        "validate a cluster file, print every error (file:line:column) or a summary, and exit");
    cli.add_option("--log-level", log_level, "trace, debug, info, warn or error")
        ->capture_default_str();
    cli.add_flag("--version", version, "print the version and exit");
    CLI11_PARSE(cli, argc, argv);

    if (version) {
        std::printf("netbootd %s\n", NETBOOTD_VERSION);
        return 0;
    }
    if (!check_file.empty()) {
        try {
            auto cfg = netbootd::daemon::load_validated_config(check_file);
            std::printf("%s: OK: %s\n", check_file.c_str(), cfg.summary().c_str());
            return 0;
        } catch (const netbootd::config_error& e) {
            for (const auto& d : e.diagnostics())
                std::fprintf(stderr, "%s\n", d.to_string().c_str());
            std::fprintf(stderr, "%s: %zu error%s\n", check_file.c_str(), e.diagnostics().size(),
                         e.diagnostics().size() == 1 ? "" : "s");
            return 1;
        }
    }
    if (config_file.empty()) {
        std::fprintf(stderr,
                     "netbootd: --config FILE is required (or --check-config FILE); see --help\n");
        return 2;
    }
    if (!netbootd::setup_logging(log_level))
        spdlog::warn("unknown --log-level '{}', using info", log_level);
    try {
        netbootd::daemon::app app(config_file);
        return app.run();
    } catch (const netbootd::config_error& e) {
        for (const auto& d : e.diagnostics())
            spdlog::critical("{}", d.to_string());
        netbootd::sd::status(fmt::format("invalid config: {}",
                                         e.diagnostics().empty() ? std::string("?")
                                                                 : e.diagnostics()[0].to_string()));
        return 1;
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        netbootd::sd::status(e.what());
        return 1;
    }
}
