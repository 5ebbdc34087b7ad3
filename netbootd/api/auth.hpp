// Who may call what: every mutating call needs the bearer token from api.token_file; a node's
// "up" report is also accepted from that node's own address (the agent has no token).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "netbootd/core/net_types.hpp"
#include "netbootd/core/node.hpp"

namespace netbootd::api {

/// Reads the token: the file's first line, surrounding whitespace removed. Throws
/// std::runtime_error when the file is unreadable or empty.
std::string load_token(const std::filesystem::path& file);

class authenticator {
  public:
    authenticator() = default;
    /// nullopt: no token configured, so every mutating call is refused.
    explicit authenticator(std::optional<std::string> token) : token_(std::move(token)) {}

    bool has_token() const { return token_.has_value(); }
    /// True when `authorization` is "Bearer <token>" with the configured token (constant time).
    bool bearer_ok(std::string_view authorization) const;
    /// True when the request comes from the node's own address.
    static bool from_node(const node& n, std::optional<ipv4_address> peer) {
        return peer && *peer == n.ip;
    }

  private:
    std::optional<std::string> token_;
};

} // namespace netbootd::api
