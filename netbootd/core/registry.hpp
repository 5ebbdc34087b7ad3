// The node registry: an immutable snapshot of the validated config with O(1) lookups, swapped
// whole on reload. Readers hold a shared_ptr to the snapshot they started with.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <tl/expected.hpp>

#include "netbootd/core/config.hpp"

namespace netbootd {

class registry {
  public:
    /// Indexes a validated config (load_config guarantees the keys are unique).
    explicit registry(cluster_config cfg);

    const cluster_config& config() const { return cfg_; }
    /// All nodes, ordered by position.
    std::span<const node> nodes() const { return cfg_.nodes; }

    const node* by_mac(const mac_address& mac) const;
    const node* by_serial(std::uint32_t serial) const;
    const node* by_ip(ipv4_address ip) const;
    const node* by_hostname(std::string_view hostname) const;
    const node* by_position(int position) const;
    /// The node whose `tftp_prefix` is exactly `prefix`.
    const node* by_tftp_prefix(std::string_view prefix) const;
    /// True when some node has a `tftp_prefix` (lets the TFTP resolver skip the match otherwise).
    bool has_tftp_prefixes() const { return !by_tftp_prefix_.empty(); }
    /// The node whose `tftp_prefix` is the longest one `requested` starts with (verbatim,
    /// case-sensitive), or nullptr. One hash lookup per distinct prefix length, no loop over
    /// nodes.
    const node* match_tftp_prefix(std::string_view requested) const;

    /// Resolves what an operator typed: "all", positions ("1-60,62"), hostname patterns
    /// ("node[01-04]"), IP patterns ("10.42.0.[1-4]"), MACs or serials, comma-separated.
    /// Returns the nodes in position order without duplicates, or an error naming what matched
    /// nothing.
    tl::expected<std::vector<const node*>, std::string> select(std::string_view expr) const;

  private:
    cluster_config cfg_;
    std::unordered_map<mac_address, std::size_t> by_mac_;
    std::unordered_map<std::uint32_t, std::size_t> by_serial_;
    std::unordered_map<ipv4_address, std::size_t> by_ip_;
    std::unordered_map<std::string, std::size_t> by_hostname_;
    std::unordered_map<int, std::size_t> by_position_;
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::unordered_map<std::string, std::size_t, string_hash, std::equal_to<>> by_tftp_prefix_;
    /// The distinct lengths of the configured prefixes, longest first.
    std::vector<std::size_t> tftp_prefix_lengths_;
};

using registry_ptr = std::shared_ptr<const registry>;

/// Holds the current snapshot; `replace` swaps it atomically for all later `get` calls.
class registry_holder {
  public:
    explicit registry_holder(registry_ptr initial) : current_(std::move(initial)) {}
    registry_ptr get() const {
        std::lock_guard lock(mu_);
        return current_;
    }
    void replace(registry_ptr next) {
        std::lock_guard lock(mu_);
        current_ = std::move(next);
    }

  private:
    mutable std::mutex mu_;
    registry_ptr current_;
};

} // namespace netbootd
