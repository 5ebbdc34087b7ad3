#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "netbootd/cli/api_client.hpp"

#include <cstdlib>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <sys/socket.h>
#include <sys/time.h>

namespace netbootd::cli {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

std::string api_endpoint::to_string() const {
    return is_unix ? "unix:" + socket_path : "http://" + host + ":" + port;
}

std::optional<api_endpoint> parse_api_url(std::string_view t) {
    api_endpoint ep;
    if (t.starts_with("unix:"))
        t.remove_prefix(5);
    if (!t.empty() && t.front() == '/') {
        ep.is_unix = true;
        ep.socket_path = std::string(t);
        return ep;
    }
    if (t.starts_with("http://"))
        t.remove_prefix(7);
    while (!t.empty() && t.back() == '/')
        t.remove_suffix(1);
    if (t.find('/') != std::string_view::npos)
        return std::nullopt;
    auto colon = t.rfind(':');
    if (!t.empty() && t.front() == '[') {
        auto close = t.find(']');
        if (close == std::string_view::npos)
            return std::nullopt;
        ep.host = std::string(t.substr(1, close - 1));
        ep.port =
            close + 1 < t.size() && t[close + 1] == ':' ? std::string(t.substr(close + 2)) : "8067";
    } else if (colon == std::string_view::npos) {
        ep.host = std::string(t);
        ep.port = "8067";
    } else {
        ep.host = std::string(t.substr(0, colon));
        ep.port = std::string(t.substr(colon + 1));
    }
    if (ep.host.empty() || ep.port.empty() ||
        ep.port.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    return ep;
}

std::string default_api_url() {
    if (const char* e = std::getenv("NETBOOTD_API"); e && *e)
        return e;
    return "http://127.0.0.1:8067";
}

std::string api_reply::error_message() const {
    auto j = json();
    if (j.is_object() && j.contains("error") && j["error"].is_string())
        return j["error"].get<std::string>();
    return body;
}

std::string url_encode(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':' || c == ',')
            out.push_back(static_cast<char>(c));
        else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

namespace {

template <class Socket> void set_timeouts(Socket& s, std::chrono::seconds t) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count());
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Runs `fn(socket)` on a connected socket of the endpoint's kind.
template <class Fn> auto with_socket(const api_endpoint& ep, std::chrono::seconds timeout, Fn fn) {
    asio::io_context io;
    try {
        if (ep.is_unix) {
            asio::local::stream_protocol::socket s(io);
            s.connect(asio::local::stream_protocol::endpoint(ep.socket_path));
            set_timeouts(s, timeout);
            return fn(s);
        }
        tcp::resolver res(io);
        tcp::socket s(io);
        asio::connect(s, res.resolve(ep.host, ep.port));
        set_timeouts(s, timeout);
        return fn(s);
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("netbootd API at " + ep.to_string() + ": " + e.code().message() +
                                 " (is netbootd running? set --api or NETBOOTD_API)");
    }
}

template <class Socket>
http::request<http::string_body> make_request(const std::string& method, const std::string& target,
                                              const std::string& body, const std::string& token,
                                              const api_endpoint& ep) {
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, ep.is_unix ? "localhost" : ep.host);
    req.set(http::field::user_agent, "netbootctl");
    if (!token.empty())
        req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty() || method == "POST") {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
    }
    req.prepare_payload();
    return req;
}

} // namespace

api_reply api_client::request(const std::string& method, const std::string& target,
                              const std::string& body) const {
    return with_socket(ep_, timeout_, [&](auto& s) {
        using S = std::decay_t<decltype(s)>;
        auto req = make_request<S>(method, target, body, token_, ep_);
        req.set(http::field::connection, "close");
        http::write(s, req);
        boost::beast::flat_buffer buf;
        http::response_parser<http::string_body> parser;
        parser.body_limit(256u << 20);
        http::read(s, buf, parser);
        api_reply r;
        r.status = static_cast<int>(parser.get().result_int());
        r.body = std::move(parser.get().body());
        return r;
    });
}

api_reply api_client::get(const std::string& target) const {
    return request("GET", target, {});
}
api_reply api_client::post(const std::string& target, const std::string& body) const {
    return request("POST", target, body);
}

std::optional<api_reply>
api_client::stream(const std::string& target,
                   const std::function<bool(const nlohmann::json&)>& on_event,
                   const std::function<void(int fd)>& on_open) const {
    return with_socket(ep_, timeout_, [&](auto& s) -> std::optional<api_reply> {
        using S = std::decay_t<decltype(s)>;
        if (on_open)
            on_open(s.native_handle());
        auto req = make_request<S>("GET", target, {}, token_, ep_);
        req.set(http::field::accept, "text/event-stream");
        http::write(s, req);
        // The server sends a keepalive comment every 15 s; no timeout on an idle stream.
        set_timeouts(s, std::chrono::seconds(0));
        std::string data;
        char buf[8192];
        boost::system::error_code ec;
        std::size_t head_end = std::string::npos;
        while (head_end == std::string::npos) {
            auto n = s.read_some(asio::buffer(buf), ec);
            if (ec)
                throw std::runtime_error("event stream closed before its header: " + ec.message());
            data.append(buf, n);
            head_end = data.find("\r\n\r\n");
            if (data.size() > 65536)
                throw std::runtime_error("event stream: header too large");
        }
        const int status = data.size() > 12 ? std::atoi(data.substr(9, 3).c_str()) : 0;
        if (status != 200) {
            // Error replies carry a Content-Length and Connection: close; read to the end.
            for (;;) {
                auto n = s.read_some(asio::buffer(buf), ec);
                if (ec)
                    break;
                data.append(buf, n);
            }
            return api_reply{status, data.substr(head_end + 4)};
        }
        data.erase(0, head_end + 4);
        for (;;) {
            std::size_t nl;
            while ((nl = data.find('\n')) != std::string::npos) {
                std::string line = data.substr(0, nl);
                data.erase(0, nl + 1);
                if (line.starts_with("data: ")) {
                    auto j = nlohmann::json::parse(line.substr(6), nullptr, false);
                    if (!j.is_discarded() && !on_event(j))
                        return std::nullopt;
                }
            }
            auto n = s.read_some(asio::buffer(buf), ec);
            if (ec)
                return std::nullopt;
            data.append(buf, n);
        }
    });
}

} // namespace netbootd::cli
