// Asio 1.74's scheduler trips GCC 12's -Wnull-dereference once inlined into this file (its
// thread_info cast is guarded at run time); the warning is about Boost, not this code. The pragma
// must precede every include so it covers Asio's headers.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "netbootd/dhcp/server.hpp"

#include <array>
#include <chrono>
#include <cstring>
#include <optional>
#include <unordered_map>

#include <net/if.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "netbootd/dhcp/classify.hpp"
#include "netbootd/dhcp/lease_store.hpp"
#include "netbootd/dhcp/options.hpp"
#include "netbootd/dhcp/packet.hpp"
#include "netbootd/dhcp/policy.hpp"

namespace netbootd::dhcp {

namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using asio::awaitable;

asio::ip::address_v4 to_asio(ipv4_address a) {
    return asio::ip::address_v4(a.value);
}

class dhcp_service final : public service {
  public:
    explicit dhcp_service(service_context& ctx)
        : ctx_(ctx), server_socket_(ctx.io), client_socket_(ctx.io) {}

    std::string_view name() const override { return "dhcp"; }

    void start() override {
        const auto reg = ctx_.registry.get();
        const auto& cfg = reg->config();
        store_ = std::make_unique<lease_store>(cfg.cluster.state_dir);
        open(server_socket_, cfg.cluster.interface, cfg.dhcp.port, true);
        // The client port shows other servers' broadcast OFFERs (dhcp.foreign_server). Another
        // DHCP client on this host may own it, so this one is best effort.
        try {
            open(client_socket_, cfg.cluster.interface,
                 static_cast<std::uint16_t>(cfg.dhcp.port + 1), false);
        } catch (const std::exception& e) {
            spdlog::warn("dhcp: not watching for other DHCP servers: {}", e.what());
        }
        running_ = true;
        asio::co_spawn(ctx_.io, receive_loop(server_socket_), asio::detached);
        if (client_socket_.is_open())
            asio::co_spawn(ctx_.io, receive_loop(client_socket_), asio::detached);
        spdlog::info("dhcp: {} mode on {} port {}, {} leases loaded",
                     cfg.dhcp.mode == dhcp_mode::full ? "full" : "proxy",
                     cfg.cluster.interface.empty() ? std::string("all interfaces")
                                                   : cfg.cluster.interface,
                     cfg.dhcp.port, store_->all().size());
    }

    void stop() override {
        running_ = false;
        boost::system::error_code ec;
        server_socket_.close(ec);
        client_socket_.close(ec);
    }

  private:
    void open(udp::socket& s, const std::string& ifname, std::uint16_t port, bool server) {
        boost::system::error_code ec;
        s.open(udp::v4(), ec);
        if (!ec)
            s.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec)
            s.set_option(asio::socket_base::broadcast(true), ec);
        if (ec)
            throw std::runtime_error(fmt::format("dhcp: socket: {}", ec.message()));
        // A 60-node power-on is a burst; a deep receive queue rides it out instead of dropping.
        // SO_RCVBUFFORCE (root) goes past net.core.rmem_max; SO_RCVBUF is the fallback.
        const int rcvbuf = 4 << 20;
        if (::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) !=
            0)
            ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        // The socket is non-blocking (for the drain loop), so sends must not find the queue full.
        if (::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDBUFFORCE, &rcvbuf, sizeof rcvbuf) !=
            0)
            ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof rcvbuf);
        s.non_blocking(true, ec);
        if (!ifname.empty()) {
            // Never hear (or answer) another interface's clients.
            if (::setsockopt(s.native_handle(), SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(),
                             static_cast<socklen_t>(ifname.size())) != 0)
                throw std::runtime_error(
                    fmt::format("dhcp: bind to interface {}: {}", ifname, std::strerror(errno)));
        }
        s.bind(udp::endpoint(udp::v4(), port), ec);
        if (ec) {
            s.close();
            throw std::runtime_error(fmt::format("dhcp: bind 0.0.0.0:{}{}: {}", port,
                                                 ifname.empty() ? "" : " on " + ifname,
                                                 ec.message()));
        }
        (void)server;
    }

    awaitable<void> receive_loop(udp::socket& s) {
        std::array<std::uint8_t, 4096> buf{};
        udp::endpoint from;
        while (running_ && s.is_open()) {
            // Boost 1.74 has no as_tuple; redirect_error keeps errors as values.
            boost::system::error_code ec;
            const auto n = co_await s.async_receive_from(
                asio::buffer(buf), from, asio::redirect_error(asio::use_awaitable, ec));
            if (ec == asio::error::operation_aborted || !running_)
                co_return;
            if (ec) {
                spdlog::warn("dhcp: receive: {}, ignoring", ec.message());
                continue;
            }
            handle_safely(std::span<const std::uint8_t>(buf.data(), n), from);
            // Drain what else is queued without a trip through the reactor per packet (bounded,
            // so the other loop and timers still get their turn).
            for (int i = 0; i < 64 && running_; ++i) {
                const auto m = s.receive_from(asio::buffer(buf), from, 0, ec);
                if (ec)
                    break; // would_block: queue empty; real errors surface on the next await
                handle_safely(std::span<const std::uint8_t>(buf.data(), m), from);
            }
        }
    }

    void handle_safely(std::span<const std::uint8_t> bytes, const udp::endpoint& from) {
        try {
            handle(bytes, from);
        } catch (const std::exception& e) {
            // One bad packet never ends the loop.
            publish_drop(nullptr, nullptr, "internal_error", from, {{"error", e.what()}});
            spdlog::error("dhcp: packet from {}: {}", from.address().to_string(), e.what());
        }
    }

    event make_event(std::string kind, const packet* p, const decision* d,
                     severity level = severity::info) {
        event e;
        e.source = "dhcp";
        e.kind = std::move(kind);
        e.level = level;
        if (p && p->htype == 1 && p->hlen == 6)
            e.mac = p->mac();
        if (d && d->nd)
            e.position = d->nd->position;
        if (d && d->address)
            e.ip = *d->address;
        return e;
    }

    void publish_drop(const packet* p, const decision* d, const std::string& reason,
                      const udp::endpoint& from, nlohmann::json extra = nlohmann::json::object()) {
        auto e = make_event("dhcp.drop", p, d, severity::debug);
        e.fields = std::move(extra);
        e.fields["reason"] = reason;
        e.fields["from"] = from.address().to_string();
        if (p)
            e.fields["xid"] = fmt::format("0x{:08x}", p->xid);
        if (d && d->request_type)
            e.fields["type"] = std::string(to_string(*d->request_type));
        ctx_.events.publish(std::move(e));
    }

    void handle(std::span<const std::uint8_t> bytes, const udp::endpoint& from) {
        auto pkt = decode(bytes);
        if (!pkt) {
            publish_drop(nullptr, nullptr, std::string(to_string(pkt.error())), from,
                         {{"bytes", bytes.size()}});
            return;
        }
        const auto reg = ctx_.registry.get();
        const auto now = clock::now();
        auto d = decide(*pkt, *reg, *store_, now);

        if (d.foreign_server)
            report_foreign(*pkt, *d.foreign_server, from);
        if (pkt->op == 1 && d.request_type)
            publish_request(*pkt, d, from);
        // `unknown_clients: log` reports every stranger, `ignore` only the ones that look like Pis.
        const bool loud = reg->config().dhcp.unknown_clients == unknown_client_policy::log;
        if (d.drop_reason == "unknown_client" && (d.unknown_pi || loud))
            report_unknown(*pkt, d, loud);

        for (const auto& c : d.changes) {
            try {
                store_->apply(c, now);
            } catch (const std::exception& ex) {
                // Never hand out an address we could not make durable.
                spdlog::error("{}", ex.what());
                publish_drop(&*pkt, &d, "lease_store_error", from, {{"error", ex.what()}});
                return;
            }
        }
        if (!d.drop_reason.empty()) {
            // Our own broadcasts loop back to the client-port socket: not news.
            if (d.drop_reason != "own_reply")
                publish_drop(&*pkt, &d, d.drop_reason, from);
            return;
        }
        if (!d.reply)
            return;
        auto out = std::make_shared<std::vector<std::uint8_t>>();
        encode_to(*out, *d.reply);
        const udp::endpoint to(to_asio(d.to.ip), d.to.port);
        publish_reply(*d.reply, d, to);
        if (d.delay.count() > 0) {
            asio::co_spawn(ctx_.io, send_later(out, to, d.delay), asio::detached);
            return;
        }
        send(*out, to);
    }

    void send(const std::vector<std::uint8_t>& bytes, const udp::endpoint& to) {
        boost::system::error_code ec;
        server_socket_.send_to(asio::buffer(bytes), to, 0, ec);
        if (ec) {
            spdlog::warn("dhcp: send to {}: {}", to.address().to_string(), ec.message());
            publish_drop(nullptr, nullptr, "send_failed", to, {{"error", ec.message()}});
        }
    }

    awaitable<void> send_later(std::shared_ptr<std::vector<std::uint8_t>> bytes, udp::endpoint to,
                               std::chrono::milliseconds delay) {
        asio::steady_timer t(ctx_.io, delay);
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!ec && running_)
            send(*bytes, to);
    }

    void publish_request(const packet& p, const decision& d, const udp::endpoint& from) {
        auto e =
            make_event(fmt::format("dhcp.{}", to_string(*d.request_type)), &p, &d, severity::debug);
        e.fields["xid"] = fmt::format("0x{:08x}", p.xid);
        e.fields["class"] = std::string(to_string(d.cls));
        e.fields["from"] = from.address().to_string();
        if (!p.giaddr.is_unspecified()) {
            e.fields["giaddr"] = p.giaddr.to_string();
            e.fields["hops"] = p.hops;
        }
        if (auto r = p.ip_option(opt::requested_ip))
            e.fields["requested"] = r->to_string();
        if (!p.ciaddr.is_unspecified())
            e.fields["ciaddr"] = p.ciaddr.to_string();
        if (const auto* vc = p.find(opt::vendor_class))
            e.fields["vendor_class"] = format_option(opt::vendor_class, vc->data);
        if (auto s = serial_from_guid(p))
            e.fields["serial"] = format_serial(*s);
        ctx_.events.publish(std::move(e));
    }

    void publish_reply(const packet& r, const decision& d, const udp::endpoint& to) {
        const auto t = r.type();
        auto e = make_event(fmt::format("dhcp.{}", t ? to_string(*t) : "reply"), &r, &d,
                            t == message_type::nak ? severity::info : severity::debug);
        e.fields["xid"] = fmt::format("0x{:08x}", r.xid);
        e.fields["class"] = std::string(to_string(d.cls));
        e.fields["to"] = fmt::format("{}:{}", to.address().to_string(), to.port());
        e.fields["pxe"] = r.has(opt::vendor_specific);
        if (d.delay.count() > 0)
            e.fields["delay_ms"] = d.delay.count();
        if (d.nd)
            e.fields["hostname"] = d.nd->hostname;
        if (t == message_type::nak)
            e.fields["message"] = r.text_option(opt::message);
        ctx_.events.publish(std::move(e));
    }

    void report_unknown(const packet& p, const decision& d, bool loud) {
        auto e =
            make_event("dhcp.unknown_client", &p, &d, loud ? severity::warning : severity::info);
        e.fields["model_guess"] = std::string(to_string(d.cls));
        if (auto s = serial_from_guid(p))
            e.fields["serial"] = format_serial(*s);
        if (const auto* vc = p.find(opt::vendor_class))
            e.fields["vendor_class"] = format_option(opt::vendor_class, vc->data);
        const auto mac = p.mac();
        auto& last = unknown_logged_[mac];
        const auto now = std::chrono::steady_clock::now();
        if (last == std::chrono::steady_clock::time_point{} ||
            now - last > std::chrono::minutes(1)) {
            if (unknown_logged_.size() > 4096)
                unknown_logged_.clear(); // bound what a MAC-spoofing flood can grow
            last = now;
            spdlog::log(loud ? spdlog::level::warn : spdlog::level::info,
                        "dhcp: unknown client {} ({}) asked for an address; not answering "
                        "(dhcp.unknown_clients)",
                        mac.to_string(), to_string(d.cls));
        }
        ctx_.events.publish(std::move(e));
    }

    void report_foreign(const packet& p, ipv4_address server_id, const udp::endpoint& from) {
        auto e = make_event("dhcp.foreign_server", &p, nullptr, severity::warning);
        e.fields["server_id"] = server_id.to_string();
        e.fields["from"] = from.address().to_string();
        e.fields["yiaddr"] = p.yiaddr.to_string();
        e.fields["pxe"] = p.has(opt::vendor_specific);
        auto& last = foreign_logged_[server_id];
        const auto now = std::chrono::steady_clock::now();
        if (last == std::chrono::steady_clock::time_point{} ||
            now - last > std::chrono::minutes(1)) {
            if (foreign_logged_.size() > 1024)
                foreign_logged_.clear();
            last = now;
            spdlog::warn("dhcp: another DHCP server {} (from {}) is answering on this segment",
                         server_id.to_string(), from.address().to_string());
        }
        ctx_.events.publish(std::move(e));
    }

    service_context& ctx_;
    udp::socket server_socket_;
    udp::socket client_socket_;
    std::unique_ptr<lease_store> store_;
    bool running_ = false;
    std::unordered_map<mac_address, std::chrono::steady_clock::time_point> unknown_logged_;
    std::unordered_map<ipv4_address, std::chrono::steady_clock::time_point> foreign_logged_;
};

} // namespace

std::unique_ptr<service> make_service(service_context& ctx) {
    return std::make_unique<dhcp_service>(ctx);
}

} // namespace netbootd::dhcp
