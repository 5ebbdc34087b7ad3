#include "netbootd/cli/nodes_cmd.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "netbootd/cli/common.hpp"
#include "netbootd/cli/importers.hpp"
#include "netbootd/core/atomic_file.hpp"

namespace netbootd::cli {

std::string format_nodes_table(const std::vector<const node*>& nodes) {
    std::size_t host_w = 8;
    for (const auto* n : nodes)
        host_w = std::max(host_w, n->hostname.size());
    std::string out = fmt::format("{:>4}  {:<{}}  {:<17}  {:<8}  {:<15}  {:<7}  {}\n", "POS",
                                  "HOSTNAME", host_w, "MAC", "SERIAL", "IP", "ROOT", "POWER");
    for (const auto* n : nodes) {
        out += fmt::format(
            "{:>4}  {:<{}}  {:<17}  {:<8}  {:<15}  {:<7}  {}\n", n->position, n->hostname, host_w,
            n->mac.to_string(), n->serial ? format_serial(*n->serial) : "-", n->ip.to_string(),
            to_string(n->root), n->power ? n->power->driver + ":" + n->power->channel : "-");
    }
    return out;
}

std::string format_nodes_json(const std::vector<const node*>& nodes) {
    auto arr = nlohmann::json::array();
    for (const auto* n : nodes) {
        nlohmann::json j{{"position", n->position},    {"hostname", n->hostname},
                         {"mac", n->mac.to_string()},  {"ip", n->ip.to_string()},
                         {"root", to_string(n->root)}, {"model", to_string(n->model)}};
        j["serial"] =
            n->serial ? nlohmann::json(format_serial(*n->serial)) : nlohmann::json(nullptr);
        j["tftp_prefix"] =
            n->tftp_prefix.empty() ? nlohmann::json(nullptr) : nlohmann::json(n->tftp_prefix);
        j["power"] =
            n->power ? nlohmann::json{{"driver", n->power->driver}, {"channel", n->power->channel}}
                     : nlohmann::json(nullptr);
        arr.push_back(std::move(j));
    }
    return arr.dump(2) + "\n";
}

void add_inventory_commands(CLI::App& app) {
    // nodes
    auto* nodes =
        app.add_subcommand("nodes", "print the node inventory (after defaults) as a table or JSON");
    auto cfg = std::make_shared<std::string>();
    auto range = std::make_shared<std::string>("all");
    auto json = std::make_shared<bool>(false);
    add_config_option(*nodes, *cfg);
    nodes
        ->add_option("RANGE", *range,
                     "nodes to show: all, 1-60,62, node[01-04], 10.42.0.[1-4], a MAC or serial")
        ->capture_default_str();
    nodes->add_flag("--json", *json, "print JSON for scripts");
    nodes->callback([cfg, range, json] {
        auto reg = load_registry_or_report(*cfg);
        if (!reg)
            throw exit_code{1};
        auto sel = reg->select(*range);
        if (!sel) {
            std::fprintf(stderr, "netbootctl nodes: %s\n", sel.error().c_str());
            throw exit_code{2};
        }
        std::fputs((*json ? format_nodes_json(*sel) : format_nodes_table(*sel)).c_str(), stdout);
    });

    // check
    auto* check =
        app.add_subcommand("check", "validate the cluster file (like netbootd --check-config)");
    auto check_cfg = std::make_shared<std::string>();
    add_config_option(*check, *check_cfg);
    check->callback([check_cfg] {
        auto reg = load_registry_or_report(*check_cfg);
        if (!reg)
            throw exit_code{1};
        std::printf("%s: OK: %s\n", check_cfg->c_str(), reg->config().summary().c_str());
    });

    // import
    auto* imp = app.add_subcommand("import", "turn existing host tables into netbootd nodes YAML");
    imp->require_subcommand(1);
    struct spec {
        const char* name;
        const char* help;
        import_format format;
    };
    for (auto s :
         {spec{"dnsmasq", "dnsmasq dhcp-host=MAC,name,IP,... lines (e.g. /etc/dnsmasq.d/mac_table)",
               import_format::dnsmasq},
          spec{"table", "'POSITION MAC' lines (e.g. /opt/mac_nodes)", import_format::table},
          spec{"ethers", "/etc/ethers 'MAC HOSTNAME-or-IP' lines", import_format::ethers}}) {
        auto* sub = imp->add_subcommand(s.name, s.help);
        auto file = std::make_shared<std::string>();
        auto write = std::make_shared<std::string>();
        sub->add_option("FILE", *file, "file to import")->required()->check(CLI::ExistingFile);
        sub->add_option("--write", *write,
                        "write the YAML to this file (atomically) instead of printing it");
        const auto format = s.format;
        sub->callback([file, write, format] {
            std::ifstream in(*file, std::ios::binary);
            std::stringstream ss;
            ss << in.rdbuf();
            auto r = import_nodes(ss.str(), *file, format);
            for (const auto& e : r.errors)
                std::fprintf(stderr, "%s\n", e.to_string().c_str());
            if (!r.errors.empty()) {
                std::fprintf(stderr, "%s: %zu error%s, nothing written\n", file->c_str(),
                             r.errors.size(), r.errors.size() == 1 ? "" : "s");
                throw exit_code{1};
            }
            const auto yaml = to_nodes_yaml(r, *file);
            if (write->empty()) {
                std::fputs(yaml.c_str(), stdout);
                return;
            }
            if (auto ec = write_file_atomic(*write, yaml)) {
                std::fprintf(stderr, "cannot write %s: %s\n", write->c_str(), ec.message().c_str());
                throw exit_code{1};
            }
            std::fprintf(stderr, "wrote %zu nodes to %s\n", r.nodes.size(), write->c_str());
        });
    }
}

} // namespace netbootd::cli
