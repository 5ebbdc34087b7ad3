#include "netbootd/cli/common.hpp"

#include <cstdio>
#include <cstdlib>

#include "netbootd/power/driver_factory.hpp"

namespace netbootd::cli {

std::string default_config_path() {
    if (const char* env = std::getenv("NETBOOTD_CONFIG"); env != nullptr && *env != '\0')
        return env;
    return "/etc/netbootd/cluster.yaml";
}

CLI::Option* add_config_option(CLI::App& cmd, std::string& target) {
    target = default_config_path();
    return cmd.add_option("-c,--config", target,
                          "cluster file (default: $NETBOOTD_CONFIG or /etc/netbootd/cluster.yaml)");
}

registry_ptr load_registry_or_report(const std::string& path) {
    try {
        auto cfg = load_config(path);
        if (auto diags = power::check_power_drivers(cfg); !diags.empty())
            throw config_error(std::move(diags));
        return std::make_shared<const registry>(std::move(cfg));
    } catch (const config_error& e) {
        for (const auto& d : e.diagnostics())
            std::fprintf(stderr, "%s\n", d.to_string().c_str());
        return nullptr;
    }
}

} // namespace netbootd::cli
