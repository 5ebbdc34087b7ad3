#include "netbootd/power/executor.hpp"

#include <fmt/format.h>

namespace netbootd::power {

std::string power_executor::driver_of(const node& n) const {
    if (!n.power)
        return {};
    return n.power->driver;
}

tl::expected<driver*, std::string> driver_executor::resolve(const node& n) const {
    if (!n.power)
        return tl::unexpected(
            fmt::format("{} has no power binding (set 'power: {{driver, channel}}')", n.hostname));
    auto* d = drivers_.find(n.power->driver);
    if (d == nullptr)
        return tl::unexpected(fmt::format("{} uses power driver '{}', which is not configured",
                                          n.hostname, n.power->driver));
    return d;
}

power_result driver_executor::perform(power_action a, const node& n) {
    auto d = resolve(n);
    if (!d)
        return power_result::failure(d.error());
    return (*d)->perform(a, n, n.power->channel);
}

tl::expected<std::string, std::string> driver_executor::describe(power_action a,
                                                                 const node& n) const {
    auto d = resolve(n);
    if (!d)
        return tl::unexpected(d.error());
    auto plan = (*d)->describe_action(a, n, n.power->channel);
    if (!plan)
        return tl::unexpected(plan.error());
    return to_string(*plan);
}

} // namespace netbootd::power
