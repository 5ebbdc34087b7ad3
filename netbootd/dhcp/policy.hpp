// The DHCP decision: request + registry + lease view + now -> reply and lease changes, or a drop
// with a reason. Pure: no I/O, no clock (now is a parameter), never throws on client input.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "netbootd/core/registry.hpp"
#include "netbootd/dhcp/classify.hpp"
#include "netbootd/dhcp/lease.hpp"
#include "netbootd/dhcp/packet.hpp"

namespace netbootd::dhcp {

/// How long a pool address stays reserved for a client between OFFER and REQUEST.
inline constexpr std::chrono::seconds offer_hold{60};
/// Lease time for pool clients when `dhcp.lease_time` is infinite (pools must drain).
inline constexpr std::chrono::seconds default_pool_lease{3600};
/// How long a declined pool address is kept out of use.
inline constexpr std::chrono::seconds decline_hold{600};
/// Requests relayed through more hops than this are dropped (RFC 1542 suggests 16).
inline constexpr std::uint8_t max_hops = 16;

/// Where the server sends a reply.
struct reply_target {
    enum class kind { broadcast, unicast, relay } how = kind::broadcast;
    ipv4_address ip{0xffffffff};
    std::uint16_t port = 68;
};

/// A change the server applies to the lease store before it sends the reply.
struct lease_change {
    enum class kind { commit, hold, release } what = kind::commit;
    lease l;
};

struct decision {
    client_class cls = client_class::kernel;
    std::optional<message_type> request_type;
    /// The registry node this request is from (nullptr if unknown).
    const node* nd = nullptr;
    /// The address the client is (being) given, for events.
    std::optional<ipv4_address> address;
    /// The reply to send, if any.
    std::optional<packet> reply;
    reply_target to;
    /// Send the reply this much later (proxy replies to Pi 3 clients, spec R11).
    std::chrono::milliseconds delay{0};
    std::vector<lease_change> changes;
    /// Why nothing was sent ("unknown_client", "not_ethernet", ...); empty if a reply was built
    /// or the request needs none (RELEASE, DECLINE).
    std::string drop_reason;
    /// An unknown Pi asked (the server raises dhcp.unknown_client).
    bool unknown_pi = false;
    /// A reply from another DHCP server was seen (its server id; dhcp.foreign_server).
    std::optional<ipv4_address> foreign_server;
};

/// Decides what to do with one decoded packet. `server_port` is the port the server listens on
/// (67 in production); clients are answered on server_port + 1 and relays on server_port.
decision decide(const packet& request, const registry& reg, const lease_view& leases,
                clock::time_point now);

} // namespace netbootd::dhcp
