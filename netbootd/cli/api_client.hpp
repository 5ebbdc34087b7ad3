// A small blocking HTTP client for netbootctl's calls to the daemon's API, over TCP or a unix socket.
#pragma once

#include <chrono>
#include <string>

#include <tl/expected.hpp>

namespace netbootd::cli {

struct api_response {
    int status = 0;
    std::string body;
};

class api_client {
public:
    struct endpoint {
        /// "127.0.0.1:8067" (used when unix_socket is empty).
        std::string tcp = "127.0.0.1:8067";
        std::string unix_socket;
        std::string token;
        std::chrono::milliseconds timeout{5000};
    };
    explicit api_client(endpoint ep) : ep_(std::move(ep)) {}

    tl::expected<api_response, std::string> get(const std::string& target) { return request("GET", target, ""); }
    tl::expected<api_response, std::string> post(const std::string& target, const std::string& body) {
        return request("POST", target, body);
    }
    tl::expected<api_response, std::string> request(const std::string& method, const std::string& target,
                                                     const std::string& body);

private:
    endpoint ep_;
};

} // namespace netbootd::cli
