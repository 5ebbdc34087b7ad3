// The API as a daemon service: owns the stage tracker, the on-disk event log, the metrics and
// the HTTP server. Construct it FIRST in the daemon so the tracker and log see every event.
#pragma once

#include <memory>

#include "netbootd/api/router.hpp"
#include "netbootd/api/server.hpp"
#include "netbootd/core/service.hpp"
#include "netbootd/diag/sniffer.hpp"

namespace netbootd::api {

class api_service : public service {
  public:
    explicit api_service(service_context& ctx, server_limits limits = {});
    ~api_service() override;

    std::string_view name() const override { return "api"; }
    /// Reads api.token_file, binds api.listen and api.unix_socket, starts the capture when
    /// api.capture is set.
    void start() override;
    void stop() override;

    /// Connects POST /api/v1/nodes/{id}/power to the power module (501 until set).
    void set_power_hook(async_power_hook hook);
    diag::tracker& tracker() { return tracker_; }
    /// The bound TCP endpoint (tests use api.listen with port 0).
    boost::asio::ip::tcp::endpoint endpoint() const;

  private:
    service_context& ctx_;
    server_limits limits_;
    std::unique_ptr<diag::event_log> log_;
    event_bus::subscription log_sub_;
    diag::tracker tracker_;
    metrics metrics_;
    std::shared_ptr<async_power_hook> power_;
    std::unique_ptr<router> router_;
    std::unique_ptr<server> server_;
    std::unique_ptr<diag::sniffer> sniffer_;
};

/// The daemon's factory (one line in netbootd/daemon/services.cpp).
std::unique_ptr<netbootd::service> make_service(service_context& ctx);

} // namespace netbootd::api
