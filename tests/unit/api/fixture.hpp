// A small cluster, bus, tracker and router for the API tests.
#pragma once

#include <memory>

#include "netbootd/api/router.hpp"

namespace netbootd::api::test {

inline registry_ptr three_nodes() {
    auto cfg = parse_config(R"(
cluster:
  name: lab
  interface: eth0
  server_ip: 10.42.0.1
  subnet: 10.42.0.0/24
defaults:
  ip: "10.42.0.1{position:02}"
  hostname: "node{position:02}"
power:
  drivers:
    sim: {type: sim}
nodes:
  - {position: 1, mac: "b8:27:eb:00:00:01", serial: "27e247cc"}
  - {position: 2, mac: "dc:a6:32:00:00:02", power: {driver: sim, channel: "2"}}
  - {position: 3, mac: "dc:a6:32:00:00:03", tftp_prefix: "rack1/n03/"}
)",
                            "lab.yaml");
    return std::make_shared<const registry>(std::move(cfg));
}

inline const std::chrono::system_clock::time_point fixed_now{std::chrono::seconds(1'800'000'000)};

struct fixture {
    registry_holder reg{three_nodes()};
    event_bus bus;
    diag::tracker tracker{bus, reg};
    metrics stats{bus};
    std::unique_ptr<router> r;

    explicit fixture(std::optional<std::string> token = std::string("s3cret"),
                     diag::event_log* log = nullptr) {
        router_deps d{
            reg, bus, tracker, log, &stats, authenticator(token), {}, [] { return fixed_now; }, {}};
        r = std::make_unique<router>(std::move(d));
    }

    void publish(int pos, std::string kind, nlohmann::json fields = nlohmann::json::object(),
                 double at_s = 0) {
        event e;
        e.position = pos;
        e.kind = std::move(kind);
        e.source = e.kind.substr(0, e.kind.find('.'));
        e.fields = std::move(fields);
        e.time = fixed_now - std::chrono::seconds(600) +
                 std::chrono::milliseconds(static_cast<long long>(at_s * 1000));
        bus.publish(e);
    }

    http_response call(std::string method, std::string target, std::string body = {},
                       std::string auth = {}, std::optional<ipv4_address> peer = std::nullopt) {
        http_request q{std::move(method), std::move(target), std::move(body), std::move(auth),
                       peer};
        auto out = r->handle(q);
        if (out.deferred) {
            // The tests' hooks answer in place; a hook that never answers is a 599 here.
            http_response done;
            done.status = 599;
            out.deferred([&done](http_response resp) { done = std::move(resp); });
            return done;
        }
        return out;
    }
    nlohmann::json json_of(const http_response& resp) { return nlohmann::json::parse(resp.body); }
};

} // namespace netbootd::api::test
