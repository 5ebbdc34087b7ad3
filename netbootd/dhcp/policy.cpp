#include "netbootd/dhcp/policy.hpp"

#include <algorithm>

#include "netbootd/dhcp/options.hpp"
#include "netbootd/dhcp/pxe.hpp"

namespace netbootd::dhcp {

std::string_view to_string(lease_state s) {
    switch (s) {
    case lease_state::offered:
        return "offered";
    case lease_state::bound:
        return "bound";
    case lease_state::declined:
        return "declined";
    }
    return "bound";
}

namespace {

constexpr std::uint32_t infinite_lease = 0xffffffff;

// Everything one request's decision needs, so helpers take one argument instead of six.
struct exchange {
    const packet& req;
    const registry& reg;
    const cluster_config& cfg;
    const lease_view& leases;
    clock::time_point now;
    decision& d;
};

bool requested_in_prl(const packet& req, std::uint8_t code) {
    const auto* prl = req.find(opt::parameter_list);
    if (!prl)
        return true; // no list: send what we have (RFC 2131 4.3.1 leaves it to the server)
    return std::find(prl->data.begin(), prl->data.end(), code) != prl->data.end();
}

std::vector<std::uint8_t> ip_list(const std::vector<ipv4_address>& v) {
    std::vector<std::uint8_t> out;
    for (auto a : v)
        for (int s = 24; s >= 0; s -= 8)
            out.push_back(static_cast<std::uint8_t>(a.value >> s));
    return out;
}

std::string root_path(const cluster_config& cfg, const node& n) {
    const auto& path =
        n.root == root_mode::shared ? cfg.nfs.base_root : cfg.nfs.roots_dir / n.hostname;
    return cfg.cluster.server_ip.to_string() + ":" + path.string();
}

std::optional<clock::duration> lease_duration(const exchange& x) {
    if (x.cfg.dhcp.lease_time)
        return *x.cfg.dhcp.lease_time;
    if (!x.d.nd)
        return default_pool_lease;
    return std::nullopt;
}

// The reply skeleton (RFC 2131 table 3) with options in the order dnsmasq sends them (spec R8).
packet build_reply(const exchange& x, message_type type, ipv4_address yiaddr, bool with_lease) {
    const auto& req = x.req;
    const auto& cfg = x.cfg;
    const bool proxy = cfg.dhcp.mode == dhcp_mode::proxy;
    const bool pxe = is_pi_firmware(x.d.cls);
    packet r;
    r.op = 2;
    r.htype = req.htype;
    r.hlen = req.hlen;
    r.hops = 0; // R13: the 3B ROM rejects hops != 0
    r.xid = req.xid;
    r.secs = 0;
    r.flags = req.flags;
    r.giaddr = req.giaddr;
    r.chaddr = req.chaddr;
    if (type == message_type::ack && !req.ciaddr.is_unspecified())
        r.ciaddr = req.ciaddr;
    r.yiaddr = yiaddr;
    // R15: siaddr = option 54 = TFTP server. The UEFI stage also needs it as next-server.
    if (type != message_type::nak && (!proxy || pxe))
        r.siaddr = cfg.cluster.server_ip;
    if (proxy)
        r.flags = packet::broadcast_flag; // R11

    r.set(opt::message_type, {static_cast<std::uint8_t>(type)});
    r.set_ip(opt::server_id, cfg.cluster.server_ip);
    if (type == message_type::nak)
        return r;
    if (with_lease && !proxy) {
        const auto dur = lease_duration(x);
        if (!dur) {
            r.set_u32(opt::lease_time, infinite_lease);
        } else {
            const auto s = static_cast<std::uint32_t>(
                std::chrono::duration_cast<std::chrono::seconds>(*dur).count());
            r.set_u32(opt::lease_time, s);
            r.set_u32(opt::renewal_time, s / 2);
            r.set_u32(opt::rebinding_time, static_cast<std::uint32_t>(std::uint64_t{s} * 7 / 8));
        }
    }
    if (!proxy) {
        const auto& sub = cfg.cluster.subnet;
        r.set_u32(opt::subnet_mask, sub.mask());
        r.set_ip(opt::broadcast, sub.broadcast());
        if (cfg.cluster.router)
            r.set_ip(opt::router, *cfg.cluster.router);
        if (!cfg.cluster.dns.empty())
            r.set(opt::dns, ip_list(cfg.cluster.dns));
        if (x.d.nd && !x.d.nd->hostname.empty() && requested_in_prl(req, opt::hostname))
            r.set_text(opt::hostname, x.d.nd->hostname);
        if (!cfg.cluster.domain.empty() && requested_in_prl(req, opt::domain_name))
            r.set_text(opt::domain_name, cfg.cluster.domain);
        if (x.d.nd && cfg.nfs.backend != nfs_backend::none && requested_in_prl(req, opt::root_path))
            r.set_text(opt::root_path, root_path(cfg, *x.d.nd));
        if (!cfg.cluster.ntp.empty() && requested_in_prl(req, opt::ntp))
            r.set(opt::ntp, ip_list(cfg.cluster.ntp));
    }
    if (pxe) {
        if (cfg.dhcp.option66)
            r.set_text(opt::tftp_server, cfg.cluster.server_ip.to_string());
        r.set_text(opt::vendor_class, "PXEClient"); // R6
        if (const auto* g = req.find(opt::client_guid))
            r.set(opt::client_guid, g->data); // R7
        const bool pad = x.d.cls == client_class::pi3b_rom && cfg.dhcp.pi3b_menu_padding;
        r.set(opt::vendor_specific, build_option43(cfg.dhcp.menu_text, pad)); // R4/R5
    }
    return r;
}

void set_target(const exchange& x, bool force_broadcast) {
    const auto port = x.cfg.dhcp.port;
    auto& t = x.d.to;
    if (!x.req.giaddr.is_unspecified()) {
        t = {reply_target::kind::relay, x.req.giaddr, port}; // R13: relay port
        return;
    }
    const auto client_port = static_cast<std::uint16_t>(port + 1);
    if (!force_broadcast && !x.req.ciaddr.is_unspecified()) {
        t = {reply_target::kind::unicast, x.req.ciaddr, client_port};
        return;
    }
    // A client without an address cannot answer ARP; without a raw socket the only way to reach
    // it is broadcast, which is also what the Pi 3 needs (R12, Q6).
    t = {reply_target::kind::broadcast, ipv4_address{0xffffffff}, client_port};
}

void drop(decision& d, std::string reason) {
    d.reply.reset();
    d.drop_reason = std::move(reason);
}

std::optional<clock::time_point> lease_expiry(const exchange& x) {
    const auto dur = lease_duration(x);
    if (!dur)
        return std::nullopt;
    return x.now + *dur;
}

bool may_use_pool(const exchange& x) {
    return !x.d.nd && x.cfg.dhcp.unknown_clients == unknown_client_policy::pool && x.cfg.dhcp.pool;
}

// The address this client gets: its node's, its active pool lease, or a free pool address.
std::optional<ipv4_address> address_for(const exchange& x, std::optional<ipv4_address> wanted) {
    if (x.d.nd)
        return x.d.nd->ip;
    if (!may_use_pool(x))
        return std::nullopt;
    const auto mac = x.req.mac();
    if (const auto* l = x.leases.by_mac(mac);
        l && l->active(x.now) && l->state != lease_state::declined)
        return l->ip;
    const auto& pool = *x.cfg.dhcp.pool;
    if (wanted && pool.contains(*wanted)) {
        const auto* l = x.leases.by_ip(*wanted);
        if (!l || !l->active(x.now) || (l->mac == mac && l->state != lease_state::declined))
            return wanted;
    }
    return x.leases.find_free(pool, x.now);
}

void on_discover(const exchange& x) {
    auto& d = x.d;
    const bool proxy = x.cfg.dhcp.mode == dhcp_mode::proxy;
    if (proxy) {
        // R11: PXE options only, to Pi firmware stages; the main DHCP server gives the address.
        if (!is_pi_firmware(d.cls))
            return drop(d, "proxy_not_pi_firmware");
        d.reply = build_reply(x, message_type::offer, ipv4_address{}, false);
        d.to = {reply_target::kind::broadcast, ipv4_address{0xffffffff},
                static_cast<std::uint16_t>(x.cfg.dhcp.port + 1)};
        if (!x.req.giaddr.is_unspecified())
            set_target(x, true);
        if (is_g3(d.cls))
            d.delay = x.cfg.dhcp.proxy_delay_g3; // Q5: after the main server's OFFER
        return;
    }
    const auto addr = address_for(x, x.req.ip_option(opt::requested_ip));
    if (!addr)
        return drop(d, "pool_exhausted");
    d.address = *addr;
    d.reply = build_reply(x, message_type::offer, *addr, true);
    set_target(x, true);
    if (is_g3(d.cls)) {
        // R10/Q2: a Pi 3 never sends a REQUEST, so the OFFER is the commit.
        d.changes.push_back({lease_change::kind::commit,
                             {x.req.mac(), *addr, lease_expiry(x), lease_state::bound}});
    } else if (!d.nd) {
        const auto* cur = x.leases.by_mac(x.req.mac());
        if (!cur || cur->ip != *addr || !cur->active(x.now) || cur->state == lease_state::offered)
            d.changes.push_back({lease_change::kind::hold,
                                 {x.req.mac(), *addr, x.now + offer_hold, lease_state::offered}});
    }
}

void on_request(const exchange& x) {
    auto& d = x.d;
    if (x.cfg.dhcp.mode == dhcp_mode::proxy)
        return drop(d, "proxy_mode"); // R11: the main server answers REQUESTs
    const auto mac = x.req.mac();
    const auto sid = x.req.ip_option(opt::server_id);
    if (sid && *sid != x.cfg.cluster.server_ip) {
        // The client took another server's offer: free what we held for it.
        if (const auto* l = x.leases.by_mac(mac); l && l->state == lease_state::offered)
            d.changes.push_back({lease_change::kind::release, *l});
        return drop(d, "selected_other_server");
    }
    auto wanted = x.req.ip_option(opt::requested_ip);
    if (!wanted && !x.req.ciaddr.is_unspecified())
        wanted = x.req.ciaddr;
    if (!wanted)
        return drop(d, "request_without_address");
    const auto addr = address_for(x, wanted);
    if (!addr || *addr != *wanted) {
        d.address = wanted;
        d.reply = build_reply(x, message_type::nak, ipv4_address{}, false);
        d.reply->set_text(opt::message, addr ? "wrong address" : "no address available");
        set_target(x, true); // RFC 2131 4.3.2: NAKs are broadcast unless relayed
        return;
    }
    d.address = *addr;
    d.reply = build_reply(x, message_type::ack, *addr, true);
    set_target(x, is_g3(d.cls));
    d.changes.push_back(
        {lease_change::kind::commit, {mac, *addr, lease_expiry(x), lease_state::bound}});
}

void on_release(const exchange& x) {
    auto& d = x.d;
    const auto* l = x.leases.by_mac(x.req.mac());
    d.address = x.req.ciaddr;
    if (!l || l->ip != x.req.ciaddr)
        return drop(d, "release_unknown_lease");
    d.changes.push_back({lease_change::kind::release, *l});
}

void on_decline(const exchange& x) {
    auto& d = x.d;
    const auto sid = x.req.ip_option(opt::server_id);
    if (sid && *sid != x.cfg.cluster.server_ip)
        return drop(d, "selected_other_server");
    const auto ip = x.req.ip_option(opt::requested_ip);
    d.address = ip;
    if (!ip)
        return drop(d, "decline_without_address");
    const auto* l = x.leases.by_mac(x.req.mac());
    if (l && l->ip == *ip)
        d.changes.push_back({lease_change::kind::release, *l});
    if (x.cfg.dhcp.pool && x.cfg.dhcp.pool->contains(*ip))
        d.changes.push_back({lease_change::kind::commit,
                             {mac_address{}, *ip, x.now + decline_hold, lease_state::declined}});
}

void on_inform(const exchange& x) {
    auto& d = x.d;
    if (x.cfg.dhcp.mode == dhcp_mode::proxy)
        return drop(d, "proxy_mode");
    if (x.req.ciaddr.is_unspecified())
        return drop(d, "inform_without_ciaddr");
    d.address = x.req.ciaddr;
    d.reply = build_reply(x, message_type::ack, ipv4_address{}, false);
    set_target(x, false);
}

bool is_pi_like(const packet& p, client_class c) {
    return is_pi_firmware(c) || is_pi_oui(p.mac());
}

} // namespace

decision decide(const packet& req, const registry& reg, const lease_view& leases,
                clock::time_point now) {
    decision d;
    const auto& cfg = reg.config();
    exchange x{req, reg, cfg, leases, now, d};
    d.request_type = req.type();
    if (req.op == 2) {
        // Replies reach us on the client port (foreign servers' broadcast offers) or via relays.
        const auto sid = req.ip_option(opt::server_id);
        if (sid && *sid != cfg.cluster.server_ip &&
            (d.request_type == message_type::offer || d.request_type == message_type::ack))
            d.foreign_server = *sid;
        drop(d, sid && *sid == cfg.cluster.server_ip ? "own_reply" : "not_a_request");
        return d;
    }
    if (req.op != 1)
        return drop(d, "bad_op"), d;
    if (req.htype != 1 || req.hlen != 6)
        return drop(d, "not_ethernet"), d;
    if (!d.request_type)
        return drop(d, req.has(opt::message_type) ? "bad_message_type" : "bootp_unsupported"), d;
    if (req.hops > max_hops)
        return drop(d, "too_many_hops"), d;
    const auto mac = req.mac();
    if ((mac.bytes[0] & 1) != 0 || mac == mac_address{})
        return drop(d, "bad_chaddr"), d;

    d.nd = reg.by_mac(mac);
    d.cls = classify(req, d.nd ? d.nd->model : node_model::detect, d.nd != nullptr);
    if (!d.nd && !may_use_pool(x) &&
        (cfg.dhcp.mode == dhcp_mode::full ||
         cfg.dhcp.unknown_clients == unknown_client_policy::ignore)) {
        // Not ours: stay silent on a shared network, but say so when it looks like a Pi.
        d.unknown_pi = is_pi_like(req, d.cls);
        return drop(d, "unknown_client"), d;
    }
    switch (*d.request_type) {
    case message_type::discover:
        on_discover(x);
        break;
    case message_type::request:
        on_request(x);
        break;
    case message_type::release:
        on_release(x);
        break;
    case message_type::decline:
        on_decline(x);
        break;
    case message_type::inform:
        on_inform(x);
        break;
    default:
        drop(d, "not_a_request");
        break;
    }
    return d;
}

} // namespace netbootd::dhcp
