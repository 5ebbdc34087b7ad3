#include "netbootd/core/event_bus.hpp"

namespace netbootd {

bool event_filter::matches(const event& e) const {
    if (e.seq <= after_seq)
        return false;
    if (position && e.position != position)
        return false;
    if (!kind.empty()) {
        if (kind.back() == '.') {
            if (e.kind.compare(0, kind.size(), kind) != 0)
                return false;
        } else if (e.kind != kind) {
            return false;
        }
    }
    return true;
}

event_bus::event_bus(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

void event_bus::publish(event e) {
    // One delivery at a time keeps every subscriber's view in seq order even with several
    // publishing threads (the io thread and the blocking-work pool).
    std::lock_guard deliver(deliver_mu_);
    std::shared_ptr<const std::map<std::uint64_t, callback>> subs;
    {
        std::lock_guard lock(mu_);
        e.seq = next_seq_++;
        if (e.time == std::chrono::system_clock::time_point{})
            e.time = std::chrono::system_clock::now();
        ++counts_[e.kind];
        if (ring_.size() == capacity_)
            ring_.pop_front();
        ring_.push_back(e);
        subs = subs_;
    }
    for (const auto& [id, cb] : *subs)
        cb(e);
}

event_bus::subscription event_bus::subscribe(callback cb) {
    std::lock_guard lock(mu_);
    auto next = std::make_shared<std::map<std::uint64_t, callback>>(*subs_);
    const auto id = next_sub_++;
    next->emplace(id, std::move(cb));
    subs_ = std::move(next);
    return subscription(this, id);
}

void event_bus::unsubscribe(std::uint64_t id) {
    std::lock_guard lock(mu_);
    auto next = std::make_shared<std::map<std::uint64_t, callback>>(*subs_);
    next->erase(id);
    subs_ = std::move(next);
}

event_bus::subscription& event_bus::subscription::operator=(subscription&& o) noexcept {
    if (this != &o) {
        if (bus_)
            bus_->unsubscribe(id_);
        bus_ = o.bus_;
        id_ = o.id_;
        o.bus_ = nullptr;
    }
    return *this;
}

event_bus::subscription::~subscription() {
    if (bus_)
        bus_->unsubscribe(id_);
}

std::vector<event> event_bus::recent(const event_filter& f, std::size_t limit) const {
    std::lock_guard lock(mu_);
    std::vector<event> out;
    for (auto it = ring_.rbegin(); it != ring_.rend() && out.size() < limit; ++it)
        if (f.matches(*it))
            out.push_back(*it);
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<event> event_bus::after(const event_filter& f, std::size_t limit) const {
    std::lock_guard lock(mu_);
    std::vector<event> out;
    if (ring_.empty() || limit == 0)
        return out;
    // Seqs in the ring are consecutive, so the first candidate is found by arithmetic.
    const auto front = ring_.front().seq;
    std::size_t i = f.after_seq >= front ? static_cast<std::size_t>(f.after_seq - front + 1) : 0;
    for (; i < ring_.size() && out.size() < limit; ++i)
        if (f.matches(ring_[i]))
            out.push_back(ring_[i]);
    return out;
}

std::uint64_t event_bus::first_seq() const {
    std::lock_guard lock(mu_);
    return ring_.empty() ? 0 : ring_.front().seq;
}

std::map<std::string, std::uint64_t> event_bus::counts() const {
    std::lock_guard lock(mu_);
    return {counts_.begin(), counts_.end()};
}

std::uint64_t event_bus::last_seq() const {
    std::lock_guard lock(mu_);
    return next_seq_ - 1;
}

} // namespace netbootd
