#include "netbootd/daemon/services.hpp"

#include "netbootd/dhcp/server.hpp"
#include "netbootd/nfs/service.hpp"

namespace netbootd::daemon {

std::vector<std::unique_ptr<service>> make_services(service_context& ctx) {
    std::vector<std::unique_ptr<service>> out;
    const auto reg = ctx.registry.get();
    const auto& cfg = reg->config();
    // One line per service module, in start order (each checks its own `enabled` flag):
    if (cfg.dhcp.enabled)
        out.push_back(dhcp::make_service(ctx));
    out.push_back(nfs::make_service(ctx));
    return out;
}

} // namespace netbootd::daemon
