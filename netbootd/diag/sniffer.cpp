#include "netbootd/diag/sniffer.hpp"

#include <stdexcept>

#include <spdlog/spdlog.h>
#include <tins/tins.h>

namespace netbootd::diag {

namespace {

ipv4_address from_tins(const Tins::IPv4Address& a) {
    // Tins stores the address in network byte order; to_string/parse is unambiguous.
    return ipv4_address::parse(a.to_string()).value_or(ipv4_address{});
}

std::string message_type(const Tins::DHCP& d) {
    switch (d.type()) {
    case Tins::DHCP::OFFER:
        return "offer";
    case Tins::DHCP::ACK:
        return "ack";
    case Tins::DHCP::NAK:
        return "nak";
    default:
        return "other";
    }
}

// NFS traffic from a configured node's address marks its nfs-root stage.
std::optional<event> nfs_mount_event(const registry& reg, ipv4_address src, const char* proto,
                                     ipv4_address server) {
    const node* n = reg.by_ip(src);
    if (!n)
        return std::nullopt;
    event e;
    e.source = "sniffer";
    e.kind = "nfs.mount";
    e.position = n->position;
    e.ip = src;
    e.fields = {{"proto", proto}, {"server", server.to_string()}};
    return e;
}

} // namespace

std::optional<event> classify_frame(std::span<const std::uint8_t> frame, ipv4_address server_ip,
                                    const registry& reg) {
    try {
        Tins::EthernetII eth(frame.data(), static_cast<std::uint32_t>(frame.size()));
        const auto* ip = eth.find_pdu<Tins::IP>();
        if (!ip)
            return std::nullopt;
        const auto src = from_tins(ip->src_addr());
        if (const auto* udp = eth.find_pdu<Tins::UDP>()) {
            if (udp->sport() == 67 && udp->dport() == 68) {
                const auto* raw = udp->find_pdu<Tins::RawPDU>();
                if (!raw)
                    return std::nullopt;
                auto dhcp = raw->to<Tins::DHCP>();
                if (dhcp.opcode() != Tins::BootP::BOOTREPLY)
                    return std::nullopt;
                ipv4_address server = src;
                try {
                    server = from_tins(dhcp.server_identifier());
                } catch (const Tins::option_not_found&) {
                }
                if (server == server_ip || src == server_ip)
                    return std::nullopt;
                event e;
                e.source = "sniffer";
                e.kind = "dhcp.foreign_server";
                e.level = severity::warning;
                const auto ch = dhcp.chaddr();
                mac_address m;
                std::copy(ch.begin(), ch.begin() + 6, m.bytes.begin());
                e.mac = m;
                if (const node* n = reg.by_mac(m))
                    e.position = n->position;
                e.fields = {{"server", server.to_string()},
                            {"server_id", server.to_string()},
                            {"from", src.to_string()},
                            {"server_mac", eth.src_addr().to_string()},
                            {"yiaddr", from_tins(dhcp.yiaddr()).to_string()},
                            {"message", message_type(dhcp)}};
                return e;
            }
            if (udp->dport() == 2049)
                return nfs_mount_event(reg, src, "udp", from_tins(ip->dst_addr()));
            return std::nullopt;
        }
        if (const auto* tcp = eth.find_pdu<Tins::TCP>()) {
            if (tcp->dport() != 2049 || !tcp->get_flag(Tins::TCP::SYN) ||
                tcp->get_flag(Tins::TCP::ACK))
                return std::nullopt;
            return nfs_mount_event(reg, src, "tcp", from_tins(ip->dst_addr()));
        }
    } catch (const std::exception&) {
        // Malformed or truncated frame: not ours to judge, just not an event.
    }
    return std::nullopt;
}

struct sniffer::impl {
    std::unique_ptr<Tins::Sniffer> sniff;
};

sniffer::sniffer(event_bus& bus, registry_holder& registry, std::string interface,
                 ipv4_address server_ip)
    : bus_(bus), registry_(registry), interface_(std::move(interface)), server_ip_(server_ip),
      impl_(std::make_unique<impl>()) {}

sniffer::~sniffer() {
    stop();
}

void sniffer::start() {
    Tins::SnifferConfiguration cfg;
    cfg.set_filter(sniff_filter);
    cfg.set_promisc_mode(false);
    cfg.set_immediate_mode(true);
    cfg.set_snap_len(1600);
    // The capture thread wakes at least this often to notice stop().
    cfg.set_timeout(200);
    try {
        impl_->sniff = std::make_unique<Tins::Sniffer>(interface_, cfg);
    } catch (const std::exception& ex) {
        throw std::runtime_error("capture on " + interface_ + ": " + ex.what() +
                                 " (api.capture needs CAP_NET_RAW)");
    }
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

bool sniffer::should_report(const event& e) {
    if (e.kind != "nfs.mount" || !e.ip)
        return true;
    const auto now = std::chrono::steady_clock::now();
    auto [it, fresh] = last_nfs_.try_emplace(e.ip->value, now);
    if (fresh)
        return true;
    if (now - it->second < nfs_repeat)
        return false;
    it->second = now;
    return true;
}

void sniffer::run() {
    while (!stopping_) {
        try {
            Tins::Packet pkt = impl_->sniff->next_packet();
            if (!pkt)
                continue;
            ++frames_;
            // Re-serialise to bytes so classification is the same pure function the tests use.
            auto bytes = pkt.pdu()->serialize();
            auto e = classify_frame(bytes, server_ip_, *registry_.get());
            if (e && should_report(*e))
                bus_.publish(std::move(*e));
        } catch (const std::exception& ex) {
            spdlog::debug("capture: {}, ignoring", ex.what());
        }
    }
}

void sniffer::stop() {
    if (!thread_.joinable())
        return;
    stopping_ = true;
    if (impl_->sniff)
        impl_->sniff->stop_sniff();
    thread_.join();
}

} // namespace netbootd::diag
