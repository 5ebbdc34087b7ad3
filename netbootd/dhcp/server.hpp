// The DHCP service: Boost.Asio UDP I/O around the codec, policy and lease store. Receives only on
// cluster.interface (SO_BINDTODEVICE), answers per the policy's decision and turns every packet
// into events (docs/events.md, "DHCP").
#pragma once

#include <map>
#include <memory>
#include <string>

#include "netbootd/core/service.hpp"

namespace netbootd::dhcp {

/// The DHCP service for the daemon (services.cpp): `if (cfg.dhcp.enabled) ...`.
std::unique_ptr<service> make_service(service_context& ctx);

} // namespace netbootd::dhcp
