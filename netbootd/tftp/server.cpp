// GCC 12 reports -Wnull-dereference inside Asio's scheduler (Boost 1.74) once it is inlined into
// this file, after the headers' own scope has ended, so a push/pop around the includes does not
// help. The check stays on for every other file.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "netbootd/tftp/server.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unordered_map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "netbootd/tftp/file_cache.hpp"
#include "netbootd/tftp/negotiate.hpp"
#include "netbootd/tftp/packet.hpp"
#include "netbootd/tftp/resolver.hpp"
#include "netbootd/tftp/transfer.hpp"

namespace netbootd::tftp {

namespace {

namespace asio = boost::asio;
using asio::use_awaitable;
using asio::ip::udp;
using clock = std::chrono::steady_clock;

/// A transfer is keyed by the client's (address, port): a second RRQ from the same pair is a
/// retransmission (busybox re-sends after 100 ms), one from a new port is a new transfer (the
/// Pi's RRQ race, spec T4).
struct client_key {
    std::uint32_t ip = 0;
    std::uint16_t port = 0;
    bool operator==(const client_key&) const = default;
};
struct client_key_hash {
    std::size_t operator()(const client_key& k) const noexcept {
        return std::hash<std::uint64_t>{}((std::uint64_t{k.ip} << 16) | k.port);
    }
};

struct session {
    explicit session(asio::io_context& io) : sock(io) {}
    udp::socket sock;
    steady_time deadline = steady_time::max();
};

std::string_view expected_early_terminate = "Early terminate";

/// A client-chosen name as it may appear in events and log lines: control and non-ASCII bytes
/// become '?', so a hostile name cannot forge log lines or terminal escapes.
std::string printable(std::string_view s) {
    std::string out(s.substr(0, 255));
    for (auto& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f)
            c = '?';
    }
    return out;
}

class server final : public netbootd::service {
  public:
    explicit server(service_context& ctx) : ctx_(ctx), listen_(ctx.io), sweep_timer_(ctx.io) {}

    std::string_view name() const override { return "tftp"; }

    void start() override {
        const auto reg = ctx_.registry.get();
        const auto& t = reg->config().tftp;
        port_ = t.port;
        udp::endpoint ep(asio::ip::address_v4::any(), t.port);
        boost::system::error_code ec;
        listen_.open(udp::v4(), ec);
        if (!ec)
            listen_.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec)
            listen_.bind(ep, ec);
        if (ec)
            throw std::runtime_error(
                fmt::format("tftp: bind 0.0.0.0:{}: {}", t.port, ec.message()));
        stopping_ = false;
        spawn(receive_loop());
        spawn(sweep_loop());
        spdlog::info("tftp: listening on 0.0.0.0:{} (root {})", t.port, t.root.string());
    }

    void stop() override {
        stopping_ = true;
        boost::system::error_code ec;
        listen_.close(ec);
        sweep_timer_.cancel();
        for (auto& [k, s] : sessions_)
            s->sock.cancel(ec);
    }

  private:
    template <typename Awaitable> void spawn(Awaitable&& a) {
        asio::co_spawn(ctx_.io, std::forward<Awaitable>(a), [](std::exception_ptr e) {
            if (!e)
                return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                spdlog::error("tftp: coroutine ended: {}", ex.what());
            }
        });
    }

    void publish(std::string kind, severity level, const node* n, ipv4_address ip,
                 nlohmann::json fields) {
        event e;
        e.source = "tftp";
        e.kind = std::move(kind);
        e.level = level;
        e.ip = ip;
        if (n) {
            e.position = n->position;
            e.mac = n->mac;
        }
        e.fields = std::move(fields);
        ctx_.events.publish(std::move(e));
    }

    static void send_error(udp::socket& s, error_code code, std::string_view msg) {
        std::vector<std::uint8_t> b;
        encode_to(b, error_packet{static_cast<std::uint16_t>(code), std::string(msg)});
        boost::system::error_code ec;
        s.send(asio::buffer(b), 0, ec);
    }

    asio::awaitable<void> receive_loop() {
        std::array<std::uint8_t, 2048> buf{};
        udp::endpoint from;
        while (!stopping_) {
            boost::system::error_code ec;
            const auto n = co_await listen_.async_receive_from(
                asio::buffer(buf), from, asio::redirect_error(use_awaitable, ec));
            if (stopping_)
                break;
            if (ec) {
                if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
                    break;
                spdlog::warn("tftp: receive: {}, ignoring", ec.message());
                continue;
            }
            try {
                handle_datagram(std::span<const std::uint8_t>(buf.data(), n), from);
            } catch (const std::exception& ex) {
                spdlog::error("tftp: request from {}: {}", from.address().to_string(), ex.what());
            }
        }
    }

    void handle_datagram(std::span<const std::uint8_t> bytes, const udp::endpoint& from) {
        if (!from.address().is_v4())
            return;
        const ipv4_address ip{from.address().to_v4().to_uint()};
        auto pkt = decode(bytes);
        const auto reg = ctx_.registry.get();
        if (!pkt) {
            publish("tftp.malformed", severity::debug, reg->by_ip(ip), ip,
                    {{"reason", to_string(pkt.error())},
                     {"port", from.port()},
                     {"size", bytes.size()}});
            return;
        }
        auto* req = std::get_if<request>(&*pkt);
        if (!req) {
            // DATA/ACK/ERROR/OACK belong on a transfer's port; on the listen port they are stray.
            publish("tftp.malformed", severity::debug, reg->by_ip(ip), ip,
                    {{"reason", "not_a_request"}, {"port", from.port()}});
            return;
        }
        if (req->write) {
            std::vector<std::uint8_t> b;
            encode_to(b, error_packet{static_cast<std::uint16_t>(error_code::access_violation),
                                      "read-only server"});
            boost::system::error_code ec;
            listen_.send_to(asio::buffer(b), from, 0, ec);
            publish("tftp.refused", severity::warning, reg->by_ip(ip), ip,
                    {{"file", printable(req->filename)},
                     {"port", from.port()},
                     {"reason", "write request"}});
            return;
        }
        const client_key key{ip.value, from.port()};
        if (sessions_.contains(key)) {
            ++duplicate_rrqs_;
            return; // A retransmitted RRQ: the transfer already answers it.
        }
        const auto& t = reg->config().tftp;
        if (sessions_.size() >= static_cast<std::size_t>(t.max_transfers) ||
            per_client_[ip.value] >= t.max_transfers_per_client) {
            // Dropped, not refused: the client re-sends its RRQ, and a Pi would take an ERROR for a
            // missing file.
            if (per_client_[ip.value] == 0)
                per_client_.erase(ip.value);
            publish("tftp.refused", severity::warning, reg->by_ip(ip), ip,
                    {{"file", printable(req->filename)},
                     {"port", from.port()},
                     {"reason", "transfer limit"},
                     {"active", sessions_.size()}});
            return;
        }
        auto s = std::make_shared<session>(ctx_.io);
        sessions_.emplace(key, s);
        ++per_client_[ip.value];
        if (sessions_.size() == 1)
            sweep_timer_.cancel(); // wake the sweeper from its idle wait
        spawn(run_transfer(s, key, std::move(*req), from));
    }

    /// Cancels the pending receive of every transfer whose deadline passed, so its coroutine runs
    /// the state machine's timeout. One 100 ms tick for all transfers instead of a timer per
    /// block; idle (no transfers) it sleeps until woken.
    asio::awaitable<void> sweep_loop() {
        while (!stopping_) {
            if (sessions_.empty())
                sweep_timer_.expires_at(clock::time_point::max());
            else
                sweep_timer_.expires_after(std::chrono::milliseconds(100));
            boost::system::error_code ec;
            co_await sweep_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
            const auto now = clock::now();
            for (auto& [k, s] : sessions_) {
                if (s->deadline <= now) {
                    boost::system::error_code cancel_ec;
                    s->sock.cancel(cancel_ec);
                }
            }
        }
    }

    asio::awaitable<void> run_transfer(std::shared_ptr<session> s, client_key key, request req,
                                       udp::endpoint client) {
        struct cleanup {
            server* self;
            client_key key;
            ~cleanup() {
                self->sessions_.erase(key);
                if (--self->per_client_[key.ip] <= 0)
                    self->per_client_.erase(key.ip);
            }
        } guard{this, key};
        const ipv4_address ip{key.ip};
        const auto reg = ctx_.registry.get();
        const node* n = reg->by_ip(ip);
        try {
            co_await serve(*s, *reg, ip, req, client, n);
        } catch (const std::exception& ex) {
            publish("tftp.error", severity::error, n, ip,
                    {{"file", printable(req.filename)},
                     {"port", client.port()},
                     {"reason", ex.what()}});
        }
        boost::system::error_code ec;
        s->sock.close(ec);
    }

    asio::awaitable<void> serve(session& s, const registry& reg, ipv4_address ip,
                                const request& req, const udp::endpoint& client, const node*& n) {
        const auto started = clock::now();
        s.sock.open(udp::v4());
        s.sock.bind(udp::endpoint(asio::ip::address_v4::any(), 0));
        // Connected: the kernel drops datagrams from other ports (foreign TIDs) and skips the
        // route lookup per send.
        s.sock.connect(client);

        auto res = resolver_.resolve(reg, ip, req.filename);
        if (res.for_node)
            n = res.for_node;
        nlohmann::json opts = nlohmann::json::object();
        for (const auto& o : req.options)
            opts[o.name] = o.value;
        const char* result = res.result == resolution::status::found       ? "found"
                             : res.result == resolution::status::not_found ? "not_found"
                             : res.result == resolution::status::refused   ? "refused"
                                                                           : "failed";
        nlohmann::json base = {{"file", printable(req.filename)}, {"port", client.port()}};
        if (!res.prefix.empty())
            base["prefix"] = res.prefix;
        auto rrq = base;
        rrq["mode"] = req.mode;
        rrq["options"] = opts;
        rrq["path"] = printable(res.path);
        rrq["result"] = result;
        if (res.result == resolution::status::found)
            rrq["source"] = to_string(res.source);
        publish("tftp.rrq", severity::debug, n, ip, rrq);

        switch (res.result) {
        case resolution::status::found:
            break;
        case resolution::status::not_found: {
            send_error(s.sock, error_code::file_not_found, "File not found");
            auto f = base;
            f["path"] = printable(res.path);
            f["expected"] = res.expected_probe;
            if (res.unknown_prefix)
                f["unknown_prefix"] = true;
            publish("tftp.not_found", res.expected_probe ? severity::debug : severity::warning, n,
                    ip, f);
            co_return;
        }
        case resolution::status::refused: {
            send_error(s.sock, error_code::access_violation, "Access violation");
            auto f = base;
            f["reason"] = res.reason;
            publish("tftp.refused", severity::warning, n, ip, f);
            co_return;
        }
        case resolution::status::failed: {
            send_error(s.sock, error_code::not_defined, "Server error");
            auto f = base;
            f["reason"] = res.reason;
            publish("tftp.error", severity::error, n, ip, f);
            co_return;
        }
        }

        content_ptr data = res.data;
        if (iequals(req.mode, "mail")) {
            send_error(s.sock, error_code::illegal_operation, "mail mode not supported");
            auto f = base;
            f["reason"] = "mail mode";
            publish("tftp.refused", severity::warning, n, ip, f);
            co_return;
        }
        if (iequals(req.mode, "netascii")) {
            if (!data->in_memory()) {
                send_error(s.sock, error_code::not_defined, "netascii not supported for this file");
                co_return;
            }
            data = std::make_shared<memory_content>(
                to_netascii(static_cast<const memory_content&>(*data).bytes()));
        }

        const auto& t = reg.config().tftp;
        const auto neg = negotiate(req.options, data->size(), {t.max_blksize, t.max_windowsize});
        transfer_params p;
        p.size = data->size();
        p.blksize = neg.blksize;
        p.windowsize = neg.windowsize;
        p.oack = !neg.oack.empty();
        if (neg.timeout_s) {
            p.initial_timeout = std::chrono::seconds(*neg.timeout_s);
            p.max_timeout = p.initial_timeout;
        }
        transfer tr(p, clock::now());

        std::vector<std::uint8_t> oack_bytes;
        if (p.oack)
            encode_to(oack_bytes, oack_packet{neg.oack});
        std::vector<std::uint8_t> scratch;
        if (!data->in_memory())
            scratch.resize(p.blksize);

        // With a window, whole windows go out as one UDP GSO send (UDP_SEGMENT = 4 + blksize): the
        // kernel cuts [hdr|block][hdr|block]... into datagrams, one syscall per window instead of
        // one per block. Falls back to per-block sends where the kernel refuses GSO.
        bool gso = false;
        if (p.windowsize > 1 && data->in_memory()) {
            int seg = p.blksize + 4;
            gso = ::setsockopt(s.sock.native_handle(), SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) == 0;
        }
        constexpr std::size_t max_gso_blocks = 64;
        std::array<std::array<std::uint8_t, 4>, max_gso_blocks> hdrs{};
        std::array<iovec, 2 * max_gso_blocks> iov{};
        const std::uint64_t per_gso =
            std::clamp<std::uint64_t>(65000 / (std::uint64_t{p.blksize} + 4), 1, max_gso_blocks);

        // Sends what the state machine asked for. DATA goes out as header + a view of the cached
        // file: one sendmsg per block (or per window with GSO), no copy and no file syscall.
        auto execute = [&](const action& a) -> bool {
            boost::system::error_code ec;
            std::uint64_t b = a.first;
            const std::uint64_t end = a.first + a.count;
            if (a.oack) {
                s.sock.send(asio::buffer(oack_bytes), 0, ec);
                b = end;
            }
            while (gso && end - b > 1) {
                const auto nblk = std::min<std::uint64_t>(per_gso, end - b);
                std::error_code rec;
                for (std::uint64_t i = 0; i < nblk; ++i) {
                    hdrs[i] = data_header(transfer::wire_block(b + i));
                    auto payload =
                        data->read(tr.block_offset(b + i), tr.block_length(b + i), {}, rec);
                    iov[2 * i] = iovec{hdrs[i].data(), 4};
                    iov[2 * i + 1] =
                        iovec{const_cast<std::uint8_t*>(payload.data()), payload.size()};
                }
                msghdr m{};
                m.msg_iov = iov.data();
                m.msg_iovlen = 2 * nblk;
                if (::sendmsg(s.sock.native_handle(), &m, MSG_DONTWAIT) < 0) {
                    if (errno == ECONNREFUSED)
                        return false;
                    if (errno == EAGAIN || errno == ENOBUFS)
                        break;   // the timeout resends the window
                    gso = false; // EIO/EINVAL: no GSO on this path; send block by block
                    int zero = 0;
                    ::setsockopt(s.sock.native_handle(), SOL_UDP, UDP_SEGMENT, &zero, sizeof zero);
                    break;
                }
                b += nblk;
            }
            for (; b < end; ++b) {
                const auto hdr = data_header(transfer::wire_block(b));
                std::error_code rec;
                auto payload = data->read(tr.block_offset(b), tr.block_length(b), scratch, rec);
                if (rec) {
                    send_error(s.sock, error_code::not_defined, "read error");
                    throw std::runtime_error("read " + res.path + ": " + rec.message());
                }
                const std::array<asio::const_buffer, 2> bufs{
                    asio::buffer(hdr), asio::buffer(payload.data(), payload.size())};
                s.sock.send(bufs, 0, ec);
                if (ec && ec != asio::error::would_block && ec != asio::error::no_buffer_space)
                    break;
            }
            s.deadline = tr.deadline();
            // A refused send means the client's port is gone (ICMP unreachable on a connected
            // socket): end now instead of retransmitting into nothing.
            return !(ec == asio::error::connection_refused);
        };

        std::array<std::uint8_t, 1024> rx{};
        execute(tr.start(clock::now()));
        std::string outcome;
        nlohmann::json extra;
        action a;
        while (true) {
            boost::system::error_code ec;
            const auto len = co_await s.sock.async_receive(asio::buffer(rx),
                                                           asio::redirect_error(use_awaitable, ec));
            const auto now = clock::now();
            if (stopping_) {
                outcome = "tftp.error";
                extra["reason"] = "server stopping";
                break;
            }
            if (ec == asio::error::operation_aborted) {
                a = tr.on_timeout(now);
            } else if (ec) {
                outcome = "tftp.error";
                extra["reason"] =
                    ec == asio::error::connection_refused ? "client unreachable" : ec.message();
                break;
            } else {
                auto pkt = decode(std::span<const std::uint8_t>(rx.data(), len));
                if (!pkt)
                    continue;
                if (auto* ack = std::get_if<ack_packet>(&*pkt)) {
                    a = tr.on_ack(ack->block, now);
                } else if (auto* err = std::get_if<error_packet>(&*pkt)) {
                    a = tr.on_error();
                    if (err->code == 0 && iequals(err->message, expected_early_terminate)) {
                        outcome = "tftp.early_terminate";
                    } else {
                        outcome = "tftp.error";
                        extra["reason"] = "client error";
                        extra["client_code"] = err->code;
                        extra["client_message"] = err->message;
                    }
                    break;
                } else {
                    continue;
                }
            }
            if (a.what == action::kind::send) {
                if (!execute(a)) {
                    outcome = "tftp.error";
                    extra["reason"] = "client unreachable";
                    break;
                }
            } else if (a.what == action::kind::done) {
                outcome = "tftp.sent";
                break;
            } else if (a.what == action::kind::timed_out) {
                outcome = "tftp.timeout";
                break;
            }
        }
        const auto dur = std::chrono::duration<double, std::milli>(clock::now() - started);
        auto f = base;
        f["path"] = printable(res.path);
        f["source"] = to_string(res.source);
        f["size"] = data->size();
        f["blksize"] = p.blksize;
        f["windowsize"] = p.windowsize;
        f["duration_ms"] = std::round(dur.count() * 10) / 10;
        f["retransmits"] = tr.retransmits();
        if (outcome == "tftp.sent") {
            f["bytes"] = data->size();
            f["final_ack"] = a.final_ack;
            if (dur.count() > 0)
                f["mbps"] =
                    std::round(static_cast<double>(data->size()) / dur.count() / 1e3 * 100) / 100;
        } else {
            f["bytes"] = tr.bytes_acked();
        }
        for (auto& [k, v] : extra.items())
            f[k] = v;
        const auto level = outcome == "tftp.sent" || outcome == "tftp.early_terminate"
                               ? severity::info
                               : severity::warning;
        publish(outcome, level, n, ip, f);
    }

    service_context& ctx_;
    udp::socket listen_;
    asio::steady_timer sweep_timer_;
    std::uint16_t port_ = 69;
    bool stopping_ = false;
    file_cache cache_;
    resolver resolver_{cache_};
    std::unordered_map<client_key, std::shared_ptr<session>, client_key_hash> sessions_;
    std::unordered_map<std::uint32_t, int> per_client_;
    std::uint64_t duplicate_rrqs_ = 0;
};

} // namespace

std::unique_ptr<netbootd::service> make_service(service_context& ctx) {
    return std::make_unique<server>(ctx);
}

} // namespace netbootd::tftp
