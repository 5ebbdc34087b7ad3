#include "netbootd/power/driver_factory.hpp"

#include <fmt/format.h>

#include "netbootd/power/command_driver.hpp"
#include "netbootd/power/gpio_driver.hpp"
#include "netbootd/power/http_driver.hpp"
#include "netbootd/power/ipmi_driver.hpp"
#include "netbootd/power/settings_reader.hpp"
#include "netbootd/power/sim_driver.hpp"
#include "netbootd/power/snmp_driver.hpp"

namespace netbootd::power {

void driver_set::add(std::unique_ptr<driver> d) {
    auto name = d->name();
    drivers_[name] = std::move(d);
}

driver* driver_set::find(std::string_view name) const {
    auto it = drivers_.find(name);
    return it == drivers_.end() ? nullptr : it->second.get();
}

std::vector<std::string> driver_set::names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : drivers_)
        out.push_back(k);
    return out;
}

std::unique_ptr<driver> make_driver(const power_driver_config& d, const std::string& file,
                                    std::vector<diagnostic>& diags) {
    settings_reader r(d, file);
    std::unique_ptr<driver> out;
    try {
        if (d.type == "command")
            out = command_driver::from_config(r);
        else if (d.type == "http")
            out = http_driver::from_config(r, d.settings);
        else if (d.type == "gpio")
            out = gpio_driver::from_config(r);
        else if (d.type == "snmp")
            out = snmp_driver::from_config(r);
        else if (d.type == "ipmi")
            out = ipmi_driver::from_config(r);
        else if (d.type == "sim")
            out = sim_driver::from_config(r);
        else
            r.error("type", fmt::format("unknown type '{}'", d.type));
    } catch (const YAML::Exception& e) {
        r.diagnostics().push_back(diagnostic{file, e.mark.line + 1, e.mark.column + 1,
                                             fmt::format("power driver '{}': {}", d.name, e.msg)});
        out.reset();
    }
    for (auto& diag : r.diagnostics())
        diags.push_back(std::move(diag));
    return r.ok() ? std::move(out) : nullptr;
}

std::vector<diagnostic> check_power_drivers(const cluster_config& cfg) {
    std::vector<diagnostic> diags;
    for (const auto& [name, d] : cfg.power.drivers)
        (void)make_driver(d, cfg.source.string(), diags);
    return diags;
}

driver_set make_drivers(const cluster_config& cfg) {
    std::vector<diagnostic> diags;
    driver_set set;
    for (const auto& [name, d] : cfg.power.drivers)
        if (auto drv = make_driver(d, cfg.source.string(), diags))
            set.add(std::move(drv));
    if (!diags.empty())
        throw config_error(std::move(diags));
    return set;
}

} // namespace netbootd::power
