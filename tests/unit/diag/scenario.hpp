// Builds recorded event sequences for the stage and diagnosis tests: each helper appends one
// event of node 1 at a time offset from t0, stamped with an increasing seq as the bus would.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "netbootd/core/event.hpp"
#include "netbootd/diag/diagnosis.hpp"
#include "netbootd/diag/stage.hpp"

namespace netbootd::diag::test {

inline const std::chrono::system_clock::time_point t0{std::chrono::seconds(1'700'000'000)};

struct scenario {
    std::vector<event> events;
    int position = 1;

    scenario& add(double at_s, std::string kind, nlohmann::json fields = nlohmann::json::object()) {
        event e;
        e.seq = events.size() + 1;
        e.time = t0 + std::chrono::milliseconds(static_cast<long long>(at_s * 1000));
        e.position = position;
        e.source = kind.substr(0, kind.find('.'));
        e.kind = std::move(kind);
        e.fields = std::move(fields);
        events.push_back(std::move(e));
        return *this;
    }
    scenario& dora(double at, const char* client, bool with_request = true) {
        add(at, "dhcp.discover", {{"stage", client}});
        add(at + 0.01, "dhcp.offer",
            {{"stage", client}, {"yiaddr", "10.42.0.11"}, {"lease_time", 3600}});
        if (with_request) {
            add(at + 0.02, "dhcp.request", {{"stage", client}});
            add(at + 0.03, "dhcp.ack", {{"stage", client}, {"yiaddr", "10.42.0.11"}});
        }
        return *this;
    }
    scenario& sent(double at, const char* file, int bytes = 1000) {
        add(at, "tftp.rrq", {{"file", file}});
        return add(at + 0.1, "tftp.sent", {{"file", file}, {"bytes", bytes}});
    }
    scenario& missing(double at, const char* file, bool expected) {
        add(at, "tftp.rrq", {{"file", file}});
        return add(at + 0.01, "tftp.not_found", {{"file", file}, {"expected", expected}});
    }
    node_state state() const {
        node_state s;
        for (const auto& e : events)
            s = apply(std::move(s), e);
        return s;
    }
    diagnosis diag(double now_s) const {
        return diagnose(state(), events,
                        t0 + std::chrono::milliseconds(static_cast<long long>(now_s * 1000)));
    }
};

} // namespace netbootd::diag::test
