#include "netbootd/daemon/services.hpp"

#include "netbootd/api/service.hpp"
#include "netbootd/dhcp/server.hpp"
#include "netbootd/nfs/service.hpp"
#include "netbootd/power/power_service.hpp"
#include "netbootd/tftp/server.hpp"

namespace netbootd::daemon {

namespace {

// The API's power endpoint acts through the power service, so API-driven actions get the same
// drivers, events and position order as the start-up sequence.
api::power_hook make_power_hook(power::power_service& power) {
    return [&power](const node& n,
                    const std::string& action) -> tl::expected<nlohmann::json, std::string> {
        const auto parsed = power::parse_power_action(action);
        if (!parsed)
            return tl::unexpected("unknown action '" + action + "' (on, off, cycle, status)");
        power::sequence_options opt;
        opt.action = *parsed;
        const node* one[] = {&n};
        const auto report = power.run(one, opt);
        if (report.nodes.empty())
            return tl::unexpected(std::string("no outcome"));
        const auto& r = report.nodes.front().result;
        if (!r.ok)
            return tl::unexpected(r.error.empty() ? std::string("power action failed") : r.error);
        return nlohmann::json{{"position", n.position},
                              {"action", action},
                              {"state", std::string(power::to_string(r.state))},
                              {"detail", r.detail}};
    };
}

} // namespace

std::vector<std::unique_ptr<service>> make_services(service_context& ctx) {
    std::vector<std::unique_ptr<service>> out;
    const auto reg = ctx.registry.get();
    const auto& cfg = reg->config();
    // In start order. The API comes first so its tracker and event log see every later event;
    // power comes last, so a start-up sequence (power.sequence.on_start) begins with DHCP and
    // TFTP serving.
    auto api = std::make_unique<api::api_service>(ctx);
    auto power = std::make_unique<power::power_service>(ctx);
    api->set_power_hook(make_power_hook(*power));
    out.push_back(std::move(api));
    if (cfg.dhcp.enabled)
        out.push_back(dhcp::make_service(ctx));
    if (cfg.tftp.enabled)
        out.push_back(tftp::make_service(ctx));
    out.push_back(nfs::make_service(ctx));
    out.push_back(std::move(power));
    return out;
}

} // namespace netbootd::daemon
