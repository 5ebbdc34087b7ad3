// The daemon's NFS service: at start (and after a reload) it creates the roots that are missing
// for the nodes' modes and applies the exports, on a worker thread so a slow clone never holds up
// DHCP and TFTP.
#pragma once

#include <memory>

#include "netbootd/core/service.hpp"

namespace netbootd::nfs {

std::unique_ptr<service> make_service(service_context& ctx);

} // namespace netbootd::nfs
