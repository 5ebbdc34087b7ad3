// GCC 12 false positives inside Boost 1.74's coroutine frames and scheduler once inlined at -O2
// (the coroutine frame's sized operator delete, and a pointer Asio checks before use).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "netbootd/api/server.hpp"

#include <deque>
#include <map>
#include <variant>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

namespace netbootd::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::awaitable;
using asio::use_awaitable;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using unix_proto = asio::local::stream_protocol;
using steady = std::chrono::steady_clock;

std::optional<tcp::endpoint> parse_listen(const std::string& s) {
    std::string host;
    std::string port;
    if (!s.empty() && s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
            return std::nullopt;
        host = s.substr(1, close - 1);
        port = s.substr(close + 2);
    } else {
        auto colon = s.rfind(':');
        if (colon == std::string::npos)
            return std::nullopt;
        host = s.substr(0, colon);
        port = s.substr(colon + 1);
    }
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    const auto p = std::stoul(port);
    if (p > 65535)
        return std::nullopt;
    error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec)
        return std::nullopt;
    return tcp::endpoint(addr, static_cast<unsigned short>(p));
}

namespace {

std::optional<ipv4_address> peer_v4(const tcp::socket& s) {
    error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec)
        return std::nullopt;
    auto a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    if (!a.is_v4())
        return std::nullopt;
    return ipv4_address{a.to_v4().to_uint()};
}
std::optional<ipv4_address> peer_v4(const unix_proto::socket&) {
    return std::nullopt;
}

std::string sse_frame(const event& e) {
    std::string out = "id: " + std::to_string(e.seq) + "\nevent: " + e.kind + "\ndata: ";
    out += to_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += "\n\n";
    return out;
}

} // namespace

struct server::state : std::enable_shared_from_this<server::state> {
    state(asio::io_context& i, router& rt, event_bus& b, metrics* m, server_limits l)
        : io(i), r(rt), bus(b), stats(m), lim(l) {}

    asio::io_context& io;
    router& r;
    event_bus& bus;
    metrics* stats;
    server_limits lim;
    std::optional<tcp::acceptor> tcp_acceptor;
    std::optional<unix_proto::acceptor> unix_acceptor;
    std::filesystem::path unix_path;
    std::size_t active = 0;
    bool stopped = false;
    std::uint64_t next_id = 1;
    std::map<std::uint64_t, std::function<void()>> closers;

    template <class Socket> struct connection;
    template <class Socket>
    awaitable<void> accept_loop(typename Socket::protocol_type::acceptor& acc);
    template <class Socket> awaitable<void> session(std::shared_ptr<connection<Socket>> c);
    template <class Socket>
    awaitable<void> stream(std::shared_ptr<connection<Socket>> c, const http_request& req,
                           const std::string& last_event_id);
    template <class Socket> awaitable<void> watchdog(std::shared_ptr<connection<Socket>> c);
    template <class Socket> awaitable<void> refuse(Socket sock);
};

template <class Socket>
struct server::state::connection : std::enable_shared_from_this<connection<Socket>> {
    explicit connection(Socket s)
        : sock(std::move(s)), timer(sock.get_executor()), notify(sock.get_executor()) {}

    Socket sock;
    asio::steady_timer timer;
    steady::time_point deadline = steady::time_point::max();
    bool closed = false;
    std::uint64_t id = 0;
    // SSE: frames waiting to be written, each with its seq so the backlog is not repeated.
    std::deque<std::pair<std::uint64_t, std::string>> queue;
    bool overflow = false;
    asio::steady_timer notify;
    event_bus::subscription sub;

    void set_deadline(steady::duration d) {
        deadline = steady::now() + d;
        timer.cancel();
    }
    void no_deadline() {
        deadline = steady::time_point::max();
        timer.cancel();
    }
    void close() {
        if (closed)
            return;
        closed = true;
        sub = {};
        error_code ec;
        sock.shutdown(Socket::shutdown_both, ec);
        sock.close(ec);
        timer.cancel();
        notify.cancel();
    }
};

template <class Socket>
awaitable<void> server::state::watchdog(std::shared_ptr<connection<Socket>> c) {
    while (!c->closed) {
        c->timer.expires_at(c->deadline);
        error_code ec;
        co_await c->timer.async_wait(asio::redirect_error(use_awaitable, ec));
        if (c->closed)
            co_return;
        if (steady::now() >= c->deadline) {
            spdlog::debug("api: connection {} timed out, closing", c->id);
            c->close();
            co_return;
        }
    }
}

template <class Socket> awaitable<void> server::state::refuse(Socket sock) {
    static const std::string busy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Connection: close\r\nRetry-After: 1\r\nContent-Length: 54\r\n\r\n"
        "{\"error\": \"too many connections\", \"status\": 503}\n\n\n\n";
    asio::steady_timer t(sock.get_executor());
    error_code ec;
    // Bounded: if the peer does not read, the kernel buffer still takes this small reply.
    co_await asio::async_write(sock, asio::buffer(busy), asio::redirect_error(use_awaitable, ec));
    sock.close(ec);
}

template <class Socket>
awaitable<void> server::state::accept_loop(typename Socket::protocol_type::acceptor& acc) {
    auto self = shared_from_this();
    while (!stopped) {
        error_code ec;
        Socket sock = co_await acc.async_accept(asio::redirect_error(use_awaitable, ec));
        if (stopped)
            co_return;
        if (ec) {
            spdlog::warn("api: accept: {}, ignoring", ec.message());
            if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) {
                asio::steady_timer t(io, std::chrono::milliseconds(100));
                co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
            }
            continue;
        }
        if (active >= lim.max_connections) {
            if (stats)
                stats->connection_refused();
            asio::co_spawn(io, refuse(std::move(sock)), asio::detached);
            continue;
        }
        auto c = std::make_shared<connection<Socket>>(std::move(sock));
        c->id = next_id++;
        ++active;
        if (stats)
            stats->connection_opened();
        closers.emplace(c->id, [w = std::weak_ptr(c)] {
            if (auto p = w.lock())
                p->close();
        });
        asio::co_spawn(io, watchdog(c), asio::detached);
        asio::co_spawn(io, session(c), [self, c](std::exception_ptr ep) {
            if (ep) {
                try {
                    std::rethrow_exception(ep);
                } catch (const std::exception& ex) {
                    spdlog::warn("api: connection {} failed: {}", c->id, ex.what());
                }
            }
            c->close();
            self->closers.erase(c->id);
            --self->active;
            if (self->stats)
                self->stats->connection_closed();
        });
    }
}

template <class Socket>
awaitable<void> server::state::session(std::shared_ptr<connection<Socket>> c) {
    boost::beast::flat_buffer buf;
    const auto peer = peer_v4(c->sock);
    bool first = true;
    while (!c->closed) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(lim.max_header_bytes));
        parser.body_limit(lim.max_body_bytes);
        c->set_deadline(first ? lim.io_timeout : lim.idle_timeout);
        first = false;
        error_code ec;
        co_await http::async_read(c->sock, buf, parser, asio::redirect_error(use_awaitable, ec));
        if (c->closed || ec == http::error::end_of_stream || ec == asio::error::eof ||
            ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
            co_return;
        if (ec) {
            // A malformed or oversized request gets a JSON 4xx, then the connection closes
            // (the rest of the stream cannot be trusted).
            http_response bad;
            if (ec == http::error::body_limit)
                bad = router::error(413, "request body too large");
            else if (ec == http::error::header_limit)
                bad = router::error(431, "request header too large");
            else
                bad = router::error(400, "malformed HTTP request: " + ec.message());
            if (stats)
                stats->count_request(bad.status);
            http::response<http::string_body> res{static_cast<http::status>(bad.status), 11};
            res.set(http::field::content_type, bad.content_type);
            res.set(http::field::connection, "close");
            res.body() = bad.body;
            res.prepare_payload();
            c->set_deadline(lim.io_timeout);
            co_await http::async_write(c->sock, res, asio::redirect_error(use_awaitable, ec));
            co_return;
        }
        auto& msg = parser.get();
        http_request req;
        req.method = std::string(msg.method_string());
        req.target = std::string(msg.target());
        req.body = std::move(msg.body());
        req.authorization = std::string(msg[http::field::authorization]);
        req.peer = peer;
        if (router::is_stream(req)) {
            co_await stream(c, req, std::string(msg["Last-Event-ID"]));
            co_return;
        }
        auto out = r.handle(req);
        if (out.deferred) {
            // A power action runs on the power service's worker pool: wait for it without
            // blocking the loop. Drivers bound their own time, so no deadline meanwhile.
            c->no_deadline();
            auto ex = c->sock.get_executor();
            auto start = std::move(out.deferred);
            out = co_await asio::async_initiate<decltype(use_awaitable), void(http_response)>(
                [&start, ex](auto handler) {
                    auto h = std::make_shared<decltype(handler)>(std::move(handler));
                    start([h, ex](http_response resp) {
                        asio::post(
                            ex, [h, resp = std::move(resp)]() mutable { (*h)(std::move(resp)); });
                    });
                },
                use_awaitable);
            if (stats)
                stats->count_request(out.status);
            if (c->closed)
                co_return;
        }
        http::response<http::string_body> res{static_cast<http::status>(out.status), msg.version()};
        res.set(http::field::server, "netbootd/" NETBOOTD_VERSION);
        res.set(http::field::content_type, out.content_type);
        res.set(http::field::cache_control, "no-store");
        for (const auto& [k, v] : out.headers)
            res.set(k, v);
        res.keep_alive(msg.keep_alive());
        res.body() = msg.method() == http::verb::head ? std::string() : std::move(out.body);
        res.prepare_payload();
        c->set_deadline(lim.io_timeout);
        co_await http::async_write(c->sock, res, asio::redirect_error(use_awaitable, ec));
        if (ec || !res.keep_alive())
            co_return;
    }
}

template <class Socket>
awaitable<void> server::state::stream(std::shared_ptr<connection<Socket>> c,
                                      const http_request& req, const std::string& last_event_id) {
    error_code ec;
    auto opened = r.open_stream(req);
    if (auto* bad = std::get_if<http_response>(&opened)) {
        if (stats)
            stats->count_request(bad->status);
        http::response<http::string_body> res{static_cast<http::status>(bad->status), 11};
        res.set(http::field::content_type, bad->content_type);
        res.set(http::field::connection, "close");
        res.body() = bad->body;
        res.prepare_payload();
        c->set_deadline(lim.io_timeout);
        co_await http::async_write(c->sock, res, asio::redirect_error(use_awaitable, ec));
        co_return;
    }
    auto q = std::get<stream_query>(opened);
    if (!last_event_id.empty() && last_event_id.size() < 20 &&
        last_event_id.find_first_not_of("0123456789") == std::string::npos)
        q.after_seq = std::max<std::uint64_t>(q.after_seq, std::stoull(last_event_id));
    if (stats) {
        stats->count_request(200);
        stats->stream_opened();
    }
    struct stream_guard {
        metrics* m;
        ~stream_guard() {
            if (m)
                m->stream_closed();
        }
    } guard{stats};

    // Subscribe before reading the backlog so nothing falls between the two; duplicates are
    // skipped by seq.
    const std::size_t cap = lim.stream_queue;
    c->sub = bus.subscribe([w = std::weak_ptr(c), q, this, cap](const event& e) {
        if (!r.stream_matches(q, e))
            return;
        asio::post(io, [w, seq = e.seq, frame = sse_frame(e), cap]() mutable {
            auto p = w.lock();
            if (!p || p->closed)
                return;
            if (p->queue.size() >= cap) {
                p->overflow = true;
            } else {
                p->queue.emplace_back(seq, std::move(frame));
            }
            p->notify.cancel();
        });
    });

    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                       "Cache-Control: no-store\r\nConnection: close\r\n"
                       "X-Accel-Buffering: no\r\nServer: netbootd/" NETBOOTD_VERSION
                       "\r\n\r\nretry: 2000\n: connected\n\n";
    std::uint64_t last_sent = q.after_seq;
    // Every write is bounded by the I/O timeout: a client that stops reading is dropped.
    auto write = [&](const std::string& bytes) -> asio::awaitable<bool> {
        c->set_deadline(lim.io_timeout);
        co_await asio::async_write(c->sock, asio::buffer(bytes),
                                   asio::redirect_error(use_awaitable, ec));
        if (ec)
            co_return false;
        c->no_deadline();
        co_return true;
    };
    if (!co_await write(head))
        co_return;

    if (q.after_seq > 0) {
        // Resuming: everything after the client's seq that the ring still holds, oldest first, a
        // page per write, until the ring has nothing newer. (Taking only the newest N here would
        // silently skip the oldest missed events, e.g. for a client that was dropped for being
        // too slow, which is always thousands of events behind.) Live events queued meanwhile are
        // skipped by seq; one that found the queue full is in the ring, which the next page reads,
        // so a full queue while catching up loses nothing.
        event_filter f;
        f.kind = q.kind;
        f.after_seq = q.after_seq;
        constexpr std::size_t page_size = 256;
        // Bounded: a client that cannot keep up with the ring hits the write timeout first.
        for (std::size_t pages = 0; pages < (1u << 20) && !c->closed; ++pages) {
            c->overflow = false;
            std::string out;
            const auto first = bus.first_seq();
            if (first > f.after_seq + 1) {
                // Evicted from the ring: say so, rather than pretend the stream is complete.
                out += fmt::format(": events {}-{} are no longer in memory (GET /api/v1/events "
                                   "reads the on-disk log)\n\n",
                                   f.after_seq + 1, first - 1);
                f.after_seq = first - 1;
            }
            auto page = bus.after(f, page_size);
            if (page.empty() && out.empty())
                break;
            for (const auto& e : page) {
                if (r.stream_matches(q, e))
                    out += sse_frame(e);
                f.after_seq = e.seq;
            }
            last_sent = std::max(last_sent, f.after_seq);
            while (!c->queue.empty() && c->queue.front().first <= last_sent)
                c->queue.pop_front();
            if (out.empty())
                continue;
            if (!co_await write(out))
                co_return;
        }
    }

    while (!c->closed) {
        if (c->overflow) {
            spdlog::info("api: event stream {} too slow ({} events queued), closing", c->id,
                         c->queue.size());
            if (stats)
                stats->stream_dropped_slow();
            co_return;
        }
        std::string out;
        if (c->queue.empty()) {
            c->notify.expires_after(lim.keepalive);
            co_await c->notify.async_wait(asio::redirect_error(use_awaitable, ec));
            if (c->closed)
                co_return;
            if (!ec && c->queue.empty())
                out = ": keepalive\n\n";
            else if (c->queue.empty())
                continue;
        }
        while (!c->queue.empty() && out.size() < 256 * 1024) {
            auto& [seq, frame] = c->queue.front();
            if (seq > last_sent) {
                out += frame;
                last_sent = seq;
            }
            c->queue.pop_front();
        }
        if (out.empty())
            continue;
        if (!co_await write(out))
            co_return;
    }
}

server::server(asio::io_context& io, router& r, event_bus& bus, metrics* stats,
               server_limits limits)
    : st_(std::make_shared<state>(io, r, bus, stats, limits)) {}

server::~server() {
    stop();
}

void server::listen_tcp(const std::string& address_port) {
    auto ep = parse_listen(address_port);
    if (!ep)
        throw std::runtime_error("api: cannot parse listen address '" + address_port + "'");
    try {
        auto& acc = st_->tcp_acceptor.emplace(st_->io);
        acc.open(ep->protocol());
        acc.set_option(tcp::acceptor::reuse_address(true));
        acc.bind(*ep);
        acc.listen(asio::socket_base::max_listen_connections);
    } catch (const boost::system::system_error& e) {
        st_->tcp_acceptor.reset();
        throw std::runtime_error("api: bind " + address_port + ": " + e.code().message());
    }
    asio::co_spawn(st_->io, st_->accept_loop<tcp::socket>(*st_->tcp_acceptor), asio::detached);
}

void server::listen_unix(const std::filesystem::path& path) {
    std::error_code fec;
    if (std::filesystem::is_socket(path, fec))
        std::filesystem::remove(path, fec);
    try {
        auto& acc = st_->unix_acceptor.emplace(st_->io);
        unix_proto::endpoint ep(path.string());
        acc.open(ep.protocol());
        acc.bind(ep);
        ::chmod(path.c_str(), 0660);
        acc.listen(asio::socket_base::max_listen_connections);
    } catch (const boost::system::system_error& e) {
        st_->unix_acceptor.reset();
        throw std::runtime_error("api: bind unix socket " + path.string() + ": " +
                                 e.code().message());
    }
    st_->unix_path = path;
    asio::co_spawn(st_->io, st_->accept_loop<unix_proto::socket>(*st_->unix_acceptor),
                   asio::detached);
}

tcp::endpoint server::tcp_endpoint() const {
    if (!st_->tcp_acceptor)
        return {};
    error_code ec;
    return st_->tcp_acceptor->local_endpoint(ec);
}

void server::stop() {
    if (st_->stopped)
        return;
    st_->stopped = true;
    error_code ec;
    if (st_->tcp_acceptor)
        st_->tcp_acceptor->close(ec);
    if (st_->unix_acceptor) {
        st_->unix_acceptor->close(ec);
        std::error_code fec;
        std::filesystem::remove(st_->unix_path, fec);
    }
    auto closers = st_->closers;
    for (auto& [id, close] : closers)
        close();
}

} // namespace netbootd::api
