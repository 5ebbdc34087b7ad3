#include "netbootd/daemon/services.hpp"

#include "netbootd/api/service.hpp"
#include "netbootd/dhcp/server.hpp"
#include "netbootd/nfs/service.hpp"
#include "netbootd/power/power_service.hpp"
#include "netbootd/tftp/server.hpp"

namespace netbootd::daemon {

namespace {

// The API's power endpoint acts through the power service, so API-driven actions get the same
// drivers, events and position order as the start-up sequence. The service runs the driver on
// its worker pool; the HTTP reply is written when it is done.
api::async_power_hook make_power_hook(power::power_service& power) {
    return [&power](const api::power_request& r, api::power_done done) {
        power.perform_async(r.position, r.action, std::move(done));
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
