// Prometheus text exposition of what netbootd handled: packets and events by kind, drops by
// reason, TFTP transfers and bytes, nodes per boot stage, API traffic.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "netbootd/core/event_bus.hpp"
#include "netbootd/diag/stage.hpp"

namespace netbootd::api {

class metrics {
  public:
    /// Subscribes to `bus` for the values the bus does not count itself (drop reasons, bytes).
    explicit metrics(event_bus& bus);

    void on_event(const event& e);
    void count_request(int status);
    void connection_opened() { ++connections_; }
    void connection_closed() { --connections_; }
    void connection_refused() { ++refused_; }
    void stream_opened() { ++streams_; }
    void stream_closed() { --streams_; }
    void stream_dropped_slow() { ++slow_streams_; }

    /// The text format (version 0.0.4). `stages` counts nodes per stage.
    std::string render(const std::map<std::string, std::uint64_t>& kind_counts,
                       const std::map<diag::stage, int>& stages) const;

  private:
    event_bus& bus_;
    mutable std::mutex mu_;
    std::map<std::pair<std::string, std::string>, std::uint64_t> drops_; // (source, reason)
    std::uint64_t tftp_bytes_ = 0;
    std::map<int, std::uint64_t> requests_;
    std::atomic<long> connections_{0};
    std::atomic<std::uint64_t> refused_{0};
    std::atomic<long> streams_{0};
    std::atomic<std::uint64_t> slow_streams_{0};
    event_bus::subscription sub_;
};

} // namespace netbootd::api
