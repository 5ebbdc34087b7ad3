#include "netbootd/emu/up_call.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace netbootd::emu {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

tl::expected<http_url, std::string> parse_http_url(const std::string& url) {
    constexpr std::string_view scheme = "http://";
    if (url.rfind(scheme, 0) != 0)
        return tl::unexpected("only http:// URLs are supported: '" + url + "'");
    http_url u;
    std::string rest = url.substr(scheme.size());
    const auto slash = rest.find('/');
    if (slash != std::string::npos) {
        u.target = rest.substr(slash);
        rest.resize(slash);
    }
    const auto colon = rest.rfind(':');
    if (colon != std::string::npos) {
        u.port = rest.substr(colon + 1);
        rest.resize(colon);
        if (u.port.empty() || u.port.find_first_not_of("0123456789") != std::string::npos)
            return tl::unexpected("bad port in '" + url + "'");
    }
    if (rest.empty())
        return tl::unexpected("no host in '" + url + "'");
    u.host = rest;
    return u;
}

tl::expected<unsigned, std::string> http_post_json(const http_url& url, const nlohmann::json& body,
                                                   const std::string& token,
                                                   std::chrono::milliseconds timeout) {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    http::request<http::string_body> req{http::verb::post, url.target, 11};
    req.set(http::field::host, url.host);
    req.set(http::field::user_agent, "netbootd-piemu");
    req.set(http::field::content_type, "application/json");
    if (!token.empty())
        req.set(http::field::authorization, "Bearer " + token);
    req.body() = body.dump();
    req.prepare_payload();
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    std::string error;
    bool done = false;

    // One bounded asynchronous chain: resolve → connect → write → read. The stream's expiry
    // covers each step; io.run_for() bounds the whole.
    stream.expires_after(timeout);
    resolver.async_resolve(
        url.host, url.port, [&](beast::error_code ec, tcp::resolver::results_type results) {
            if (ec) {
                error = "resolve " + url.host + ": " + ec.message();
                return;
            }
            stream.async_connect(results, [&](beast::error_code ec2, const tcp::endpoint&) {
                if (ec2) {
                    error = "connect: " + ec2.message();
                    return;
                }
                http::async_write(stream, req, [&](beast::error_code ec3, std::size_t) {
                    if (ec3) {
                        error = "send: " + ec3.message();
                        return;
                    }
                    http::async_read(stream, buffer, res, [&](beast::error_code ec4, std::size_t) {
                        if (ec4) {
                            error = "read: " + ec4.message();
                            return;
                        }
                        done = true;
                    });
                });
            });
        });
    io.run_for(timeout + std::chrono::milliseconds(500));
    if (!done)
        return tl::unexpected(error.empty() ? std::string("timed out") : error);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return res.result_int();
}

} // namespace netbootd::emu
