// The demo's virtual rack: one network namespace per emulated Pi and one for the server, all
// wired to a bridge inside a "switch" namespace. Nothing is created in the root namespace, and a
// crashed earlier demo is cleaned up before a new one starts.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "netbootd/core/net_types.hpp"

namespace netbootd::cli::demo {

/// Namespace names all start with this prefix; stale ones are removed by `cleanup`.
inline constexpr const char* ns_prefix = "nbdemo-";

std::string server_ns();
std::string node_ns(int position);

class lab {
  public:
    /// Builds the switch, the server namespace (eth0 = `server_cidr`) and one namespace per MAC
    /// (eth0 with that MAC, no address: the emulated Pi gets it by DHCP).
    static tl::expected<lab, std::string> create(const std::string& server_cidr,
                                                 const std::vector<mac_address>& node_macs);
    lab(lab&& o) noexcept : namespaces_(std::move(o.namespaces_)) { o.namespaces_.clear(); }
    lab& operator=(lab&&) = delete;
    lab(const lab&) = delete;
    ~lab();

    /// Kills what runs inside and deletes every namespace of the lab.
    void destroy();
    /// Leaves the namespaces in place when this object goes away (`--keep`).
    void release() { namespaces_.clear(); }

  private:
    lab() = default;
    std::vector<std::string> namespaces_;
};

/// Kills processes in, and deletes, every namespace named nbdemo-*. Returns how many it removed.
int cleanup();

/// Runs argv inside namespace `ns` via `ip netns exec` and waits (bounded by `timeout_ms`).
/// Returns stdout, or the failure described.
tl::expected<std::string, std::string> run_in(const std::string& ns, std::vector<std::string> argv,
                                              int timeout_ms = 10000);

} // namespace netbootd::cli::demo
