// The seam between the daemon and each network service (DHCP, TFTP, API, ...). A service does
// its I/O on the shared io_context, reads the current registry snapshot per request and reports
// everything it does as events.
#pragma once

#include <string_view>

#include <boost/asio/io_context.hpp>

#include "netbootd/core/event_bus.hpp"
#include "netbootd/core/registry.hpp"

namespace netbootd {

struct service_context {
    boost::asio::io_context& io;
    registry_holder& registry;
    event_bus& events;
};

class service {
  public:
    virtual ~service() = default;
    virtual std::string_view name() const = 0;
    /// Opens sockets and starts the receive loops. Throws std::runtime_error naming what failed
    /// (e.g. "tftp: bind 0.0.0.0:69: Address already in use").
    virtual void start() = 0;
    /// Closes sockets; in-flight work ends on its own timers.
    virtual void stop() = 0;
    /// Called after a new registry snapshot was swapped in (SIGHUP).
    virtual void reloaded(const registry_ptr& /*next*/) {}
};

} // namespace netbootd
