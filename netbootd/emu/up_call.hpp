// The node agent's "up" call, made by the emulator at the end of a boot so the daemon sees an
// emulated node reach `up` like a real one: one HTTP POST with a JSON body, plain HTTP only.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <tl/expected.hpp>

namespace netbootd::emu {

struct http_url {
    std::string host;
    std::string port = "80";
    std::string target = "/";
};

/// Parses "http://host[:port][/path]"; https and anything else is an error.
tl::expected<http_url, std::string> parse_http_url(const std::string& url);

/// POSTs `body` as application/json (with "Authorization: Bearer <token>" when token is not
/// empty). Returns the HTTP status; fails on connection errors or after `timeout`.
tl::expected<unsigned, std::string> http_post_json(const http_url& url, const nlohmann::json& body,
                                                   const std::string& token,
                                                   std::chrono::milliseconds timeout);

} // namespace netbootd::emu
