// Fuzz target: DHCP decode + policy decide + encode of the reply. Any input must either decode or
// return an error, and any decoded request must yield a decision without crashing; replies must
// re-decode. The registry is a small fixed cluster with a pool so every branch is reachable.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "netbootd/core/config.hpp"
#include "netbootd/core/registry.hpp"
#include "netbootd/dhcp/lease_store.hpp"
#include "netbootd/dhcp/packet.hpp"
#include "netbootd/dhcp/policy.hpp"

namespace {

const char* const config_text = R"(
cluster:
  interface: eth0
  server_ip: 10.42.0.250
  subnet: 10.42.0.0/24
  router: 10.42.0.250
  dns: [10.42.0.250]
  ntp: [10.42.0.250]
  domain: lab
dhcp:
  pool: 10.42.0.100-10.42.0.103
  unknown_clients: pool
nfs:
  backend: ganesha
defaults:
  ip: "10.42.0.{position}"
nodes:
  - { position: 1, mac: "b8:27:eb:fc:6a:59" }
  - { position: 2, mac: "dc:a6:32:01:36:c2", model: pi4 }
  - { position: 3, mac: "2c:cf:67:00:00:04", model: pi5 }
)";

const netbootd::registry& fuzz_registry() {
    static const netbootd::registry reg(netbootd::parse_config(config_text, "fuzz.yaml"));
    return reg;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace netbootd::dhcp;
    auto p = decode(std::span<const std::uint8_t>(data, size));
    if (!p)
        return 0;
    // Round trip of whatever decoded (options may be reordered by concatenation, so re-decode
    // the encoding and compare that with itself encoded again).
    std::vector<std::uint8_t> a, b;
    encode_to(a, *p);
    auto q = decode(a);
    if (!q)
        std::abort();
    encode_to(b, *q);
    if (a != b)
        std::abort();

    lease_store leases; // memory only
    const auto now = clock::time_point(std::chrono::seconds(1'800'000'000));
    for (int round = 0; round < 2; ++round) {
        const auto d = decide(*p, fuzz_registry(), leases, now);
        for (const auto& c : d.changes)
            leases.apply(c, now);
        if (d.reply) {
            std::vector<std::uint8_t> out;
            encode_to(out, *d.reply);
            if (out.size() < min_reply_size || !decode(out))
                std::abort();
        }
    }
    return 0;
}
