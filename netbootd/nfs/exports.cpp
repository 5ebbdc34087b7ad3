#include "netbootd/nfs/exports.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "netbootd/nfs/paths.hpp"

namespace netbootd::nfs {

std::uint32_t path_hash(const std::filesystem::path& p) {
    std::uint32_t h = 2166136261u;
    for (unsigned char c : normal_path(p)) {
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

namespace {

void add_client(std::map<std::string, export_entry>& out, const std::filesystem::path& path,
                const std::string& role, export_client c) {
    auto key = normal_path(path);
    auto& e = out[key];
    if (e.path.empty()) {
        e.path = key;
        e.role = role;
    }
    e.clients.push_back(std::move(c));
}

} // namespace

std::vector<export_entry> plan_exports(const cluster_config& cfg, std::span<const node> nodes,
                                       std::vector<std::string>* errors) {
    const bool shared_writable = cfg.nfs.shared_writable;
    std::map<std::string, export_entry> by_path;
    for (const auto& n : nodes) {
        auto l = layout_for(cfg, n);
        if (!l) {
            if (errors)
                errors->push_back(l.error());
            continue;
        }
        add_client(by_path, cfg.tftp.root, "boot", {n.ip, true, true, n.hostname});
        if (n.root == root_mode::shared)
            add_client(by_path, l->root, "base", {n.ip, !shared_writable, true, n.hostname});
        else
            add_client(by_path, l->root, "root", {n.ip, false, true, n.hostname});
        if (!l->content.empty())
            add_client(by_path, l->content, "content", {n.ip, false, true, n.hostname});
    }
    std::vector<export_entry> out;
    std::set<std::uint32_t> fsids;
    std::set<std::uint16_t> ids;
    for (auto& [key, e] : by_path) {
        e.clients.push_back({cfg.cluster.server_ip, true, false, "netbootd-check", true});
        std::sort(e.clients.begin(), e.clients.end(),
                  [](const auto& a, const auto& b) { return a.ip < b.ip; });
        // Linear probing keeps numbers unique; in path order, so the result is deterministic.
        auto h = path_hash(e.path);
        std::uint32_t fsid = (h & 0x7fffffffu) | 1u;
        while (!fsids.insert(fsid).second)
            fsid = fsid == 0x7fffffffu ? 1u : fsid + 1;
        e.fsid = fsid;
        auto id = static_cast<std::uint16_t>(1 + h % 65534u);
        while (!ids.insert(id).second)
            id = id == 65535 ? std::uint16_t{1} : static_cast<std::uint16_t>(id + 1);
        e.export_id = id;
        out.push_back(std::move(e));
    }
    return out;
}

std::string render_kernel_exports(std::span<const export_entry> exports) {
    std::string out = "# Written by netbootd: do not edit (changes are overwritten).\n"
                      "# Each node's root is exported to that node's address only.\n";
    for (const auto& e : exports) {
        std::vector<std::string> names;
        for (const auto& c : e.clients)
            names.push_back(c.node);
        out += fmt::format("# {}: {}\n", e.role, fmt::join(names, " "));
        out += e.path.string();
        for (const auto& c : e.clients)
            out += fmt::format(" {}({},sync,no_subtree_check,{},fsid={})", c.ip.to_string(),
                               c.read_only ? "ro" : "rw",
                               c.no_root_squash ? "no_root_squash" : "root_squash", e.fsid);
        out += "\n";
    }
    return out;
}

std::string render_ganesha_exports(std::span<const export_entry> exports) {
    std::string out = "# Written by netbootd: do not edit (changes are overwritten).\n"
                      "# Each node's root is exported to that node's address only.\n";
    for (const auto& e : exports) {
        out += fmt::format("\nEXPORT {{\n"
                           "    # {}\n"
                           "    Export_Id = {};\n"
                           "    Path = \"{}\";\n"
                           "    Pseudo = \"{}\";\n"
                           "    Protocols = 3, 4;\n"
                           "    Transports = UDP, TCP;\n"
                           "    SecType = sys;\n"
                           "    Access_Type = None;\n"
                           "    Squash = Root_Squash;\n"
                           "    FSAL {{\n"
                           "        Name = VFS;\n"
                           "    }}\n",
                           e.role, e.export_id, e.path.string(), e.path.string());
        for (const auto& c : e.clients)
            out += fmt::format("    CLIENT {{\n"
                               "        # {}\n"
                               "        Clients = {};\n"
                               "        Access_Type = {};\n"
                               "        Squash = {};\n"
                               "    }}\n",
                               c.node, c.ip.to_string(), c.read_only ? "RO" : "RW",
                               c.no_root_squash ? "No_Root_Squash" : "Root_Squash");
        out += "}\n";
    }
    return out;
}

std::string render_plan(std::span<const export_entry> exports) {
    std::string out;
    for (const auto& e : exports) {
        out += fmt::format("{} ({}, fsid {}):\n", e.path.string(), e.role, e.fsid);
        for (const auto& c : e.clients)
            out += fmt::format("    {:<15} {:<10} {} {}\n", c.ip.to_string(), c.node,
                               c.read_only ? "ro" : "rw",
                               c.no_root_squash ? "no_root_squash" : "root_squash");
    }
    return out;
}

} // namespace netbootd::nfs
