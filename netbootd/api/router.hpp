// Request -> response mapping for the HTTP API, without sockets: the server parses HTTP and
// hands a plain `http_request` here, so every endpoint, error and auth rule is a unit test.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "netbootd/api/auth.hpp"
#include "netbootd/api/metrics.hpp"
#include "netbootd/core/event_bus.hpp"
#include "netbootd/core/registry.hpp"
#include "netbootd/diag/event_log.hpp"
#include "netbootd/diag/tracker.hpp"

namespace netbootd::api {

struct http_request {
    std::string method;
    /// Path plus query: "/api/v1/events?node=3&limit=10".
    std::string target;
    std::string body;
    /// The Authorization header, empty when absent.
    std::string authorization;
    /// The peer's IPv4 address; nullopt on the unix socket.
    std::optional<ipv4_address> peer;
};

struct http_response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    /// Set when the answer comes later (a power action runs on a worker thread): the server
    /// calls it with a function taking the final response. That function may be called from
    /// any thread, exactly once; the server then writes the response on its io_context.
    std::function<void(std::function<void(http_response)>)> deferred;
};

/// A synchronous power hook: (node, "on"|"off"|"cycle"|"status") -> JSON result or an error
/// message (tests, simple embedders). Unset: the endpoint answers 501.
using power_hook =
    std::function<tl::expected<nlohmann::json, std::string>(const node&, const std::string&)>;

/// What the power endpoints ask the power module: the rack position (a configured node's, or
/// an empty slot's for enrollment) and the action.
struct power_request {
    int position = 0;
    std::string action;
};
using power_done = std::function<void(tl::expected<nlohmann::json, std::string>)>;
/// The daemon's power hook: starts the action and calls `done` exactly once, from any thread,
/// when it finished. The HTTP server answers the request then, without blocking its loop.
using async_power_hook = std::function<void(const power_request&, power_done)>;

/// What an event stream (SSE) subscriber asked for.
struct stream_query {
    std::optional<int> position;
    /// Exact kind or prefix ending in '.'.
    std::string kind;
    /// Resume after this seq (Last-Event-ID / ?after=).
    std::uint64_t after_seq = 0;
};

struct router_deps {
    registry_holder& registry;
    event_bus& events;
    diag::tracker& tracker;
    /// The on-disk history; may be null (no state_dir).
    diag::event_log* log = nullptr;
    metrics* stats = nullptr;
    authenticator auth;
    async_power_hook power;
    std::function<std::chrono::system_clock::time_point()> clock = [] {
        return std::chrono::system_clock::now();
    };
    diag::diagnosis_settings diagnosis;
};

class router {
  public:
    explicit router(router_deps deps) : d_(std::move(deps)) {}

    /// Answers every endpoint except the event stream. Never throws: a failure inside a handler
    /// becomes a 500 JSON error.
    http_response handle(const http_request& req);

    /// For GET /api/v1/events/stream: the parsed filter, or the error response to send.
    std::variant<stream_query, http_response> open_stream(const http_request& req) const;
    static bool is_stream(const http_request& req);
    /// Connects (or replaces) the power hook; call from the io thread or before serving.
    void set_power_hook(async_power_hook hook) { d_.power = std::move(hook); }
    /// A synchronous hook, answered in place (the node is looked up by position).
    void set_power_hook(power_hook hook);
    /// Does the event belong in this stream (node attribution via the tracker)?
    bool stream_matches(const stream_query& q, const event& e) const;

    /// {"error": message, "status": code}
    static http_response error(int status, std::string message);

  private:
    http_response route(const http_request& req);
    http_response nodes_list(const std::map<std::string, std::string>& q);
    http_response node_get(const node& n);
    http_response node_diagnosis(const node& n);
    http_response events_query(const std::map<std::string, std::string>& q);
    http_response node_power(const http_request& req, const node& n);
    /// POST /api/v1/slots/{position}/power: a rack position whether or not a node is bound
    /// to it (enrollment powers empty slots through `defaults.power`).
    http_response slot_power(const http_request& req, std::string_view position);
    /// Checks the token and the body; the action, or the error response.
    std::variant<std::string, http_response> power_action_of(const http_request& req);
    http_response deferred_power(int position, const std::string& action);
    http_response node_up(const http_request& req, const node& n);
    http_response metrics_text();
    nlohmann::json node_json(const node& n, const diag::node_state& s, bool with_diagnosis);
    /// Resolves a position, hostname, MAC or IP; "self" means the peer's own node.
    const node* find_node(const registry& reg, std::string_view id,
                          std::optional<ipv4_address> peer) const;
    std::optional<http_response> require_token(const http_request& req);

    router_deps d_;
};

/// Splits "a=1&b=x%20y" into a map (percent- and '+'-decoded); nullopt on bad encoding.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);
/// "10m" (ago), an ISO 8601 UTC time "2026-11-25T18:00:00Z", or milliseconds since the epoch.
std::optional<std::chrono::system_clock::time_point>
parse_since(std::string_view text, std::chrono::system_clock::time_point now);
/// ISO 8601 UTC with milliseconds.
std::string format_time(std::chrono::system_clock::time_point t);
/// The state as JSON (stage, since, last event, IP, lease, power, counters, agent).
nlohmann::json to_json(const diag::node_state& s);

} // namespace netbootd::api
