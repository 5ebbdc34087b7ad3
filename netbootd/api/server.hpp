// The HTTP server of the API: Boost.Beast on the daemon's io_context, one coroutine per
// connection, a watchdog per connection for timeouts (Boost 1.74 has no cancel_after), limits on
// connections, header and body sizes, and Server-Sent Event sessions fed from the event bus.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "netbootd/api/router.hpp"

namespace netbootd::api {

struct server_limits {
    std::size_t max_connections = 64;
    std::size_t max_header_bytes = 8 * 1024;
    std::size_t max_body_bytes = 64 * 1024;
    /// A request must arrive (and a response be written) within this time.
    std::chrono::milliseconds io_timeout{15000};
    /// Idle keep-alive connections close after this.
    std::chrono::milliseconds idle_timeout{30000};
    /// SSE: comment line sent this often so proxies and clients see the stream is alive.
    std::chrono::milliseconds keepalive{15000};
    /// SSE: events queued for one slow client before it is disconnected.
    std::size_t stream_queue = 4096;
};

class server {
  public:
    server(boost::asio::io_context& io, router& r, event_bus& bus, metrics* stats,
           server_limits limits = {});
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds "ADDRESS:PORT" (port 0 picks a free one) and starts accepting. Throws
    /// std::runtime_error naming the address on failure.
    void listen_tcp(const std::string& address_port);
    /// Binds a unix socket (a stale socket file is replaced; mode 0660) and starts accepting.
    void listen_unix(const std::filesystem::path& path);
    /// The bound TCP endpoint (after listen_tcp).
    boost::asio::ip::tcp::endpoint tcp_endpoint() const;

    /// Stops accepting and closes every open connection.
    void stop();

    struct state;

  private:
    std::shared_ptr<state> st_;
};

/// Parses "127.0.0.1:8067" / "[::1]:8067" / "0.0.0.0:0".
std::optional<boost::asio::ip::tcp::endpoint> parse_listen(const std::string& address_port);

} // namespace netbootd::api
