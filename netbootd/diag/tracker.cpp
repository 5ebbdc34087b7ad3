#include "netbootd/diag/tracker.hpp"

#include <algorithm>

namespace netbootd::diag {

tracker::tracker(event_bus& bus, registry_holder& registry, std::size_t history)
    : registry_(registry), history_(history == 0 ? 1 : history) {
    sub_ = bus.subscribe([this](const event& e) { on_event(e); });
}

std::optional<int> tracker::attribute(const event& e) const {
    if (e.position)
        return e.position;
    const auto reg = registry_.get();
    if (!reg)
        return std::nullopt;
    if (e.mac)
        if (const node* n = reg->by_mac(*e.mac))
            return n->position;
    // A foreign server's packet carries the foreign server's address, not the node's.
    if (e.ip && e.kind != "dhcp.foreign_server")
        if (const node* n = reg->by_ip(*e.ip))
            return n->position;
    return std::nullopt;
}

void tracker::on_event(const event& e) {
    const auto pos = attribute(e);
    std::lock_guard lock(mu_);
    if (!pos) {
        if (e.kind == "dhcp.foreign_server") {
            foreign_.push_back(e);
            if (foreign_.size() > 64)
                foreign_.pop_front();
        }
        return;
    }
    auto& st = states_[*pos];
    st = apply(std::move(st), e);
    auto& q = events_[*pos];
    q.push_back(e);
    if (q.size() > history_)
        q.pop_front();
}

node_state tracker::state(int position) const {
    std::lock_guard lock(mu_);
    auto it = states_.find(position);
    return it == states_.end() ? node_state{} : it->second;
}

std::map<int, node_state> tracker::snapshot() const {
    std::lock_guard lock(mu_);
    return states_;
}

std::vector<event> tracker::events_for(int position) const {
    std::lock_guard lock(mu_);
    std::vector<event> out;
    if (auto it = events_.find(position); it != events_.end())
        out.assign(it->second.begin(), it->second.end());
    if (!foreign_.empty()) {
        out.insert(out.end(), foreign_.begin(), foreign_.end());
        std::stable_sort(out.begin(), out.end(),
                         [](const event& a, const event& b) { return a.seq < b.seq; });
    }
    return out;
}

diagnosis tracker::diagnose_node(int position, std::chrono::system_clock::time_point now,
                                 const diagnosis_settings& cfg) const {
    const auto evs = events_for(position);
    return diagnose(state(position), evs, now, cfg);
}

} // namespace netbootd::diag
