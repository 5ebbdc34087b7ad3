#include "netbootd/cli/api_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

namespace netbootd::cli {

namespace http = boost::beast::http;

namespace {

template <typename Stream>
tl::expected<api_response, std::string> exchange(Stream& stream, const std::string& host, const std::string& method,
                                                 const std::string& target, const std::string& body,
                                                 const std::string& token) {
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "netbootctl");
    if (!token.empty())
        req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
    }
    req.prepare_payload();
    boost::beast::error_code ec;
    http::write(stream, req, ec);
    if (ec)
        return tl::unexpected("send: " + ec.message());
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res, ec);
    if (ec)
        return tl::unexpected("receive: " + ec.message());
    return api_response{static_cast<int>(res.result_int()), res.body()};
}

} // namespace

tl::expected<api_response, std::string> api_client::request(const std::string& method, const std::string& target,
                                                            const std::string& body) {
    boost::asio::io_context io;
    boost::beast::error_code ec;
    if (!ep_.unix_socket.empty()) {
        boost::beast::basic_stream<boost::asio::local::stream_protocol> stream(io);
        stream.expires_after(ep_.timeout);
        stream.socket().connect(boost::asio::local::stream_protocol::endpoint(ep_.unix_socket), ec);
        if (ec)
            return tl::unexpected(fmt::format("connect {}: {}", ep_.unix_socket, ec.message()));
        return exchange(stream, "localhost", method, target, body, ep_.token);
    }
    const auto colon = ep_.tcp.rfind(':');
    boost::asio::ip::tcp::resolver resolver(io);
    auto results = resolver.resolve(ep_.tcp.substr(0, colon), ep_.tcp.substr(colon + 1), ec);
    if (ec)
        return tl::unexpected(fmt::format("resolve {}: {}", ep_.tcp, ec.message()));
    boost::beast::tcp_stream stream(io);
    stream.expires_after(ep_.timeout);
    stream.connect(results, ec);
    if (ec)
        return tl::unexpected(fmt::format("connect {}: {}", ep_.tcp, ec.message()));
    return exchange(stream, ep_.tcp, method, target, body, ep_.token);
}

} // namespace netbootd::cli
