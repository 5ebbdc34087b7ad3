// The TFTP service: Boost.Asio I/O only. The receive loop on the listen port resolves each read
// request and hands the transfer to a data-path thread, whose one socket serves all its transfers
// (demultiplexed by client address and port, ACKs in recvmmsg batches, DATA in sendmmsg batches);
// the codec, negotiation, resolver and transfer state machine do the deciding.
#pragma once

#include <memory>

#include "netbootd/core/service.hpp"

namespace netbootd::tftp {

/// The TFTP service for `ctx` (reads tftp.* from the registry's config at start()).
std::unique_ptr<netbootd::service> make_service(service_context& ctx);

} // namespace netbootd::tftp
