// Keeps every node's boot stage current: subscribes to the event bus, attributes each event to a
// node (position, else MAC, else IP via the registry) and folds it with `apply`. Thread-safe:
// the bus may publish from any thread, the API reads snapshots.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "netbootd/core/event_bus.hpp"
#include "netbootd/core/registry.hpp"
#include "netbootd/diag/diagnosis.hpp"
#include "netbootd/diag/stage.hpp"

namespace netbootd::diag {

class tracker {
  public:
    /// Subscribes to `bus` until destroyed; keeps up to `history` events per node.
    tracker(event_bus& bus, registry_holder& registry, std::size_t history = 512);

    /// Which node an event is about, or nullopt.
    std::optional<int> attribute(const event& e) const;
    /// Folds one event (the bus callback; public for tests).
    void on_event(const event& e);

    /// The state of one node (a default `off` state for a node with no events yet).
    node_state state(int position) const;
    /// Every node that has had an event, by position.
    std::map<int, node_state> snapshot() const;
    /// The node's retained events plus unattributed dhcp.foreign_server events, oldest first.
    std::vector<event> events_for(int position) const;
    /// diagnose(state(position), events_for(position), now).
    diagnosis diagnose_node(int position, std::chrono::system_clock::time_point now,
                            const diagnosis_settings& cfg = {}) const;

  private:
    registry_holder& registry_;
    std::size_t history_;
    mutable std::mutex mu_;
    std::map<int, node_state> states_;
    std::map<int, std::deque<event>> events_;
    std::deque<event> foreign_;
    event_bus::subscription sub_;
};

} // namespace netbootd::diag
