// The TFTP service: Boost.Asio I/O only. One receive loop on the listen port hands each read
// request to its own coroutine with its own ephemeral, connected socket; the codec, negotiation,
// resolver and transfer state machine do the deciding.
#pragma once

#include <memory>

#include "netbootd/core/service.hpp"

namespace netbootd::tftp {

/// The TFTP service for `ctx` (reads tftp.* from the registry's config at start()).
std::unique_ptr<netbootd::service> make_service(service_context& ctx);

} // namespace netbootd::tftp
