// The in-process event bus: publishers hand over events, subscribers (log, journald, API stream,
// stage tracker) receive them in order, and a bounded ring keeps recent history for queries.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "netbootd/core/event.hpp"

namespace netbootd {

/// Which events a query or a subscriber wants; empty members match everything.
struct event_filter {
    std::optional<int> position;
    /// Exact kind ("tftp.sent") or a prefix ending in '.' ("tftp.").
    std::string kind;
    std::uint64_t after_seq = 0;
    bool matches(const event& e) const;
};

class event_bus {
  public:
    using callback = std::function<void(const event&)>;

    explicit event_bus(std::size_t capacity = 65536);

    /// Stamps seq (and time, if unset), keeps it in the ring, counts it and delivers it to every
    /// subscriber on the calling thread, in publish order. Subscribers must not block.
    void publish(event e);

    /// Unsubscribes when destroyed.
    class subscription {
      public:
        subscription() = default;
        subscription(event_bus* bus, std::uint64_t id) : bus_(bus), id_(id) {}
        subscription(subscription&& o) noexcept : bus_(o.bus_), id_(o.id_) { o.bus_ = nullptr; }
        subscription& operator=(subscription&& o) noexcept;
        ~subscription();

      private:
        event_bus* bus_ = nullptr;
        std::uint64_t id_ = 0;
    };
    [[nodiscard]] subscription subscribe(callback cb);

    /// The newest `limit` retained events that match, oldest first.
    std::vector<event> recent(const event_filter& f, std::size_t limit) const;
    /// The oldest `limit` retained events that match (seq > f.after_seq), oldest first: forward
    /// paging, e.g. an event stream catching up from a Last-Event-ID.
    std::vector<event> after(const event_filter& f, std::size_t limit) const;
    /// The seq of the oldest retained event; 0 when none is.
    std::uint64_t first_seq() const;
    /// Events published so far, per kind.
    std::map<std::string, std::uint64_t> counts() const;
    std::uint64_t last_seq() const;

  private:
    void unsubscribe(std::uint64_t id);

    mutable std::mutex mu_;
    std::size_t capacity_;
    std::deque<event> ring_;
    std::uint64_t next_seq_ = 1;
    std::unordered_map<std::string, std::uint64_t> counts_;
    std::uint64_t next_sub_ = 1;
    // Copy-on-write so publish can deliver without holding the lock.
    std::shared_ptr<const std::map<std::uint64_t, callback>> subs_ =
        std::make_shared<const std::map<std::uint64_t, callback>>();
    std::mutex deliver_mu_;
};

} // namespace netbootd
