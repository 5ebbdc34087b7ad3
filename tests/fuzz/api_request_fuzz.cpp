// Fuzzes the API router with arbitrary requests: input lines are method, target, authorization,
// peer address, then the body. Any input must produce a response (4xx/5xx JSON at worst) and
// never crash; event-log lines are fed to event_from_json too.
#include <cstdint>
#include <memory>
#include <string>

#include "netbootd/api/router.hpp"

namespace {

struct world {
    netbootd::registry_holder reg{std::make_shared<const netbootd::registry>(netbootd::parse_config(
        "cluster:\n  interface: eth0\n  server_ip: 10.42.0.1\n  subnet: 10.42.0.0/24\n"
        "defaults:\n  ip: \"10.42.0.1{position:02}\"\nnodes:\n"
        "  - {position: 1, mac: \"b8:27:eb:00:00:01\"}\n"
        "  - {position: 2, mac: \"dc:a6:32:00:00:02\"}\n",
        "fuzz.yaml"))};
    netbootd::event_bus bus{1024};
    netbootd::diag::tracker tracker{bus, reg};
    netbootd::api::metrics stats{bus};
    std::unique_ptr<netbootd::api::router> r;
    world() {
        netbootd::api::router_deps d{
            reg,     bus,
            tracker, nullptr,
            &stats,  netbootd::api::authenticator(std::string("tok")),
            {},      [] { return std::chrono::system_clock::time_point{}; },
            {}};
        r = std::make_unique<netbootd::api::router>(std::move(d));
    }
};

std::string next_line(std::string& s) {
    auto nl = s.find('\n');
    std::string line = s.substr(0, nl);
    s.erase(0, nl == std::string::npos ? s.size() : nl + 1);
    return line;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static world w;
    std::string in(reinterpret_cast<const char*>(data), size);
    netbootd::api::http_request req;
    req.method = next_line(in);
    req.target = next_line(in);
    req.authorization = next_line(in);
    req.peer = netbootd::ipv4_address::parse(next_line(in));
    req.body = in;
    auto resp = w.r->handle(req);
    if (resp.status < 200 || resp.status > 599)
        __builtin_trap();
    if (netbootd::api::router::is_stream(req))
        (void)w.r->open_stream(req);
    auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (!j.is_discarded())
        (void)netbootd::diag::event_from_json(j);
    return 0;
}
