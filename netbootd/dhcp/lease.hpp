// A DHCP lease and the read-only view of the lease table that the policy decides against.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "netbootd/core/config.hpp"
#include "netbootd/core/net_types.hpp"

namespace netbootd::dhcp {

using clock = std::chrono::system_clock;

enum class lease_state {
    offered,  ///< held for a client between OFFER and REQUEST (pool only; never persisted)
    bound,    ///< committed: ACKed, or OFFERed to a Pi 3 (which never sends a REQUEST)
    declined, ///< a client reported the address in use (DHCPDECLINE); kept out of the pool
};
std::string_view to_string(lease_state s);

struct lease {
    mac_address mac;
    ipv4_address ip;
    /// nullopt = infinite.
    std::optional<clock::time_point> expires;
    lease_state state = lease_state::bound;

    bool active(clock::time_point now) const { return !expires || *expires > now; }
    bool operator==(const lease&) const = default;
};

/// What the policy may ask about current leases. Implementations return leases whether or not
/// they have expired; the policy checks `active(now)`.
class lease_view {
  public:
    virtual ~lease_view() = default;
    virtual const lease* by_mac(const mac_address& mac) const = 0;
    virtual const lease* by_ip(ipv4_address ip) const = 0;
    /// The lowest address of `pool` that no active lease holds, or nullopt if it is full.
    virtual std::optional<ipv4_address> find_free(const address_pool& pool,
                                                  clock::time_point now) const = 0;
};

} // namespace netbootd::dhcp
