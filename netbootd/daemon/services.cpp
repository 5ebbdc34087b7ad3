#include "netbootd/daemon/services.hpp"

#include "netbootd/api/service.hpp"
#include "netbootd/dhcp/server.hpp"
#include "netbootd/nfs/service.hpp"
#include "netbootd/power/power_service.hpp"
#include "netbootd/tftp/server.hpp"

namespace netbootd::daemon {

std::vector<std::unique_ptr<service>> make_services(service_context& ctx) {
    std::vector<std::unique_ptr<service>> out;
    const auto reg = ctx.registry.get();
    const auto& cfg = reg->config();
    // One line per service module, in start order (each checks its own `enabled` flag):
    // The API first: its stage tracker and event log must see every later event.
    out.push_back(api::make_service(ctx));
    if (cfg.dhcp.enabled)
        out.push_back(dhcp::make_service(ctx));
    if (cfg.tftp.enabled)
        out.push_back(tftp::make_service(ctx));
    out.push_back(nfs::make_service(ctx));
    // Last, so a start-up power sequence (power.sequence.on_start) begins with DHCP/TFTP serving.
    out.push_back(power::make_service(ctx));
    return out;
}

} // namespace netbootd::daemon
