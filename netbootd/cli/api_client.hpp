// A small blocking HTTP client for netbootctl: talks to the daemon's API over TCP or its unix
// socket, with timeouts, and reads Server-Sent Event streams line by line.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace netbootd::cli {

/// Where the API is: "http://127.0.0.1:8067", "127.0.0.1:8067", "unix:/run/netbootd/api.sock"
/// or a path starting with '/'.
struct api_endpoint {
    bool is_unix = false;
    std::string host;
    std::string port;
    std::string socket_path;
    std::string to_string() const;
};
std::optional<api_endpoint> parse_api_url(std::string_view text);

/// The address netbootctl uses: --api, else $NETBOOTD_API, else http://127.0.0.1:8067.
std::string default_api_url();

struct api_reply {
    int status = 0;
    std::string body;
    /// The body parsed, or discarded JSON when it is not JSON.
    nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
    /// The API's {"error": ...} message, or the body.
    std::string error_message() const;
};

class api_client {
  public:
    explicit api_client(api_endpoint ep, std::string token = {},
                        std::chrono::seconds timeout = std::chrono::seconds(10))
        : ep_(std::move(ep)), token_(std::move(token)), timeout_(timeout) {}

    /// Throws std::runtime_error when the API cannot be reached.
    api_reply get(const std::string& target) const;
    api_reply post(const std::string& target, const std::string& json_body) const;
    /// GETs an event stream and calls `on_event` with each event's JSON until it returns false
    /// or the server closes the stream. Returns the non-200 reply if the stream was refused.
    /// `on_open` gets the connected socket's descriptor, so another thread can end the stream
    /// early with ::shutdown(fd, SHUT_RDWR).
    std::optional<api_reply> stream(const std::string& target,
                                    const std::function<bool(const nlohmann::json&)>& on_event,
                                    const std::function<void(int fd)>& on_open = {}) const;

  private:
    api_reply request(const std::string& method, const std::string& target,
                      const std::string& body) const;
    api_endpoint ep_;
    std::string token_;
    std::chrono::seconds timeout_;
};

/// Percent-encodes a query value.
std::string url_encode(std::string_view s);

} // namespace netbootd::cli
