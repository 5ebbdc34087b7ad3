// Asio 1.74's scheduler trips GCC 12's -Wnull-dereference once inlined into this file (a false
// positive inside Boost, not in our code), so the warning is off for this translation unit only.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "netbootd/power/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "netbootd/core/duration.hpp"

namespace netbootd::power {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

http_response send_http(const http_step& req) {
    http_response out;
    try {
        asio::io_context io;
        asio::ip::tcp::resolver resolver(io);
        beast::tcp_stream stream(io);
        beast::flat_buffer buffer;
        http::request<http::string_body> request;
        http::response_parser<http::string_body> parser;
        parser.body_limit(1024 * 1024);
        parser.header_limit(16 * 1024);

        const auto verb = http::string_to_verb(req.method);
        if (verb == http::verb::unknown) {
            out.error = fmt::format("unknown HTTP method '{}'", req.method);
            return out;
        }
        request.method(verb);
        request.target(req.target);
        request.version(11);
        request.set(http::field::host,
                    req.port == 80 ? req.host : fmt::format("{}:{}", req.host, req.port));
        request.set(http::field::user_agent, "netbootd");
        request.set(http::field::connection, "close");
        for (const auto& [k, v] : req.headers)
            request.set(k, v);
        if (!req.body.empty() || verb == http::verb::post || verb == http::verb::put) {
            request.body() = req.body;
            request.prepare_payload();
        }

        // One deadline for the whole exchange: every async step re-arms the same expiry.
        const auto deadline = std::chrono::steady_clock::now() + req.timeout;
        beast::error_code failure;
        std::string stage = "resolve";
        auto fail = [&](beast::error_code ec, const char* what) {
            failure = ec;
            stage = what;
        };
        asio::steady_timer resolve_timer(io);
        resolve_timer.expires_at(deadline);
        resolve_timer.async_wait([&](beast::error_code ec) {
            if (!ec)
                resolver.cancel();
        });
        resolver.async_resolve(
            req.host, std::to_string(req.port), [&](beast::error_code ec, auto results) {
                resolve_timer.cancel();
                if (ec)
                    return fail(ec, "resolve");
                stream.expires_at(deadline);
                stream.async_connect(results, [&](beast::error_code ec2, const auto&) {
                    if (ec2)
                        return fail(ec2, "connect");
                    http::async_write(stream, request, [&](beast::error_code ec3, std::size_t) {
                        if (ec3)
                            return fail(ec3, "send");
                        http::async_read(stream, buffer, parser,
                                         [&](beast::error_code ec4, std::size_t) {
                                             if (ec4)
                                                 return fail(ec4, "read");
                                             beast::error_code ignored;
                                             stream.socket().shutdown(
                                                 asio::ip::tcp::socket::shutdown_both, ignored);
                                         });
                    });
                });
            });
        io.run();
        if (failure) {
            const bool timeout =
                failure == beast::error::timeout || failure == asio::error::operation_aborted;
            out.error = timeout ? fmt::format("{}:{}: no answer within {} ({})", req.host, req.port,
                                              format_duration(req.timeout), stage)
                                : fmt::format("{}:{}: {}: {}", req.host, req.port, stage,
                                              failure.message());
            return out;
        }
        auto res = parser.release();
        out.status = static_cast<int>(res.result_int());
        out.body = std::move(res.body());
    } catch (const std::exception& e) {
        out.status = 0;
        out.error = fmt::format("{}:{}: {}", req.host, req.port, e.what());
    }
    return out;
}

} // namespace netbootd::power
