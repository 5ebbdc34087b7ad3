#include "netbootd/daemon/services.hpp"

#include "netbootd/api/service.hpp"

namespace netbootd::daemon {

std::vector<std::unique_ptr<service>> make_services(service_context& ctx) {
    std::vector<std::unique_ptr<service>> out;
    const auto reg = ctx.registry.get();
    const auto& cfg = reg->config();
    (void)cfg;
    // One line per service module, in start order (each checks its own `enabled` flag):
    // The API first: its stage tracker and event log must see every later event.
    out.push_back(api::make_service(ctx));
    return out;
}

} // namespace netbootd::daemon
