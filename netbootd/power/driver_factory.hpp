// Builds the drivers of `power.drivers` from the config, validating each driver's own keys.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "netbootd/core/config.hpp"
#include "netbootd/power/driver.hpp"

namespace netbootd::power {

class driver_set {
  public:
    driver_set() = default;
    driver_set(driver_set&&) = default;
    driver_set& operator=(driver_set&&) = default;

    void add(std::unique_ptr<driver> d);
    driver* find(std::string_view name) const;
    std::vector<std::string> names() const;
    std::size_t size() const { return drivers_.size(); }

  private:
    std::map<std::string, std::unique_ptr<driver>, std::less<>> drivers_;
};

/// Every problem in the drivers' settings (unknown keys, missing commands, bad templates), as
/// file:line:column diagnostics against `cfg.source`. Empty when all drivers can be built.
std::vector<diagnostic> check_power_drivers(const cluster_config& cfg);

/// Builds every driver. Throws config_error listing every problem (see check_power_drivers).
driver_set make_drivers(const cluster_config& cfg);

/// Builds one driver; nullptr with diagnostics added to `diags` on error.
std::unique_ptr<driver> make_driver(const power_driver_config& d, const std::string& file,
                                    std::vector<diagnostic>& diags);

} // namespace netbootd::power
