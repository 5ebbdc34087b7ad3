// Reads one power driver's type-specific settings from its YAML mapping, collecting every
// problem as a file:line:column diagnostic (unknown keys included, so a typo is never ignored).
#pragma once

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netbootd/core/config.hpp"

namespace netbootd::power {

class settings_reader {
  public:
    /// `file` names the config file in diagnostics.
    settings_reader(const power_driver_config& cfg, std::string file);

    /// Reports every key of the mapping not in `allowed` ("type" is always allowed).
    void allow(std::initializer_list<std::string_view> allowed);

    bool has(std::string_view key) const;
    std::optional<std::string> string(std::string_view key, bool required = false);
    std::optional<std::vector<std::string>> string_list(std::string_view key,
                                                        bool required = false);
    std::optional<std::chrono::milliseconds> duration(std::string_view key);
    std::optional<long long> integer(std::string_view key, long long lo, long long hi);
    std::optional<bool> boolean(std::string_view key);

    /// A located error at `key` (or at the driver when the key is absent).
    void error(std::string_view key, std::string message);

    const std::string& driver_name() const { return cfg_.name; }
    bool ok() const { return diags_.empty(); }
    std::vector<diagnostic>& diagnostics() { return diags_; }

  private:
    void error_at(const YAML::Node& at, std::string message);
    YAML::Node get(std::string_view key) const;

    const power_driver_config& cfg_;
    std::string file_;
    std::vector<diagnostic> diags_;
};

} // namespace netbootd::power
