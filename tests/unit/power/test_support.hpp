// Shared helpers for the power tests: drivers from YAML snippets, sample nodes, temp dirs.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "netbootd/power/driver_factory.hpp"

namespace netbootd::power::testing {

inline std::string data_dir() {
    return std::string(NETBOOTD_TEST_DATA) + "/power";
}

inline node sample_node(int position = 2, std::string hostname = "node02") {
    node n;
    n.position = position;
    n.hostname = std::move(hostname);
    n.mac = *mac_address::parse("b8:27:eb:e2:47:cc");
    n.ip = *ipv4_address::parse("10.42.0.2");
    n.serial = 0x27e247cc;
    return n;
}

/// Builds a driver named `name` from a YAML mapping; diagnostics land in `diags`.
inline std::unique_ptr<driver> driver_from_yaml(const std::string& name, const std::string& yaml,
                                                std::vector<diagnostic>& diags) {
    power_driver_config c;
    c.name = name;
    c.settings = YAML::Load(yaml);
    c.type = c.settings["type"].as<std::string>();
    c.line = 1;
    return make_driver(c, "test.yaml", diags);
}

inline std::unique_ptr<driver> driver_from_yaml(const std::string& name, const std::string& yaml) {
    std::vector<diagnostic> diags;
    auto d = driver_from_yaml(name, yaml, diags);
    if (!d) {
        std::string all;
        for (const auto& x : diags)
            all += x.to_string() + "\n";
        throw std::runtime_error("driver did not build:\n" + all);
    }
    return d;
}

/// A fresh directory under the system temp dir, removed when destroyed.
class temp_dir {
  public:
    temp_dir() {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "netbootd-power-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::string str() const { return path_.string(); }

  private:
    std::filesystem::path path_;
};

} // namespace netbootd::power::testing
