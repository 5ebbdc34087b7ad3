// A small synchronous NFSv3 client (libnfs) for the places that read a node's root the way the
// node will: `netbootctl root check` and the Pi emulator's nfs-root stage. One export, a few
// small files; every call is bounded by the session's timeout.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <tl/expected.hpp>

namespace netbootd::nfs {

struct mount_failure {
    /// The server answered and said no (MNT3ERR_ACCES / PERM): the export exists for others.
    bool refused = false;
    std::string message;
};

class nfs_client {
  public:
    /// Mounts `export_path` on `server` over NFSv3 (the Pi kernel's nfsroot speaks v3).
    static tl::expected<nfs_client, mount_failure>
    mount(const std::string& server, const std::string& export_path,
          std::chrono::milliseconds timeout = std::chrono::seconds(5));

    nfs_client(nfs_client&&) noexcept;
    nfs_client& operator=(nfs_client&&) noexcept;
    ~nfs_client();

    /// lstat succeeds for `path` (absolute inside the export).
    bool exists(const std::string& path) const;
    /// The first `max_bytes` of `path`, or why it could not be read.
    tl::expected<std::string, std::string> read_small(const std::string& path,
                                                      std::size_t max_bytes = 4096) const;

  private:
    struct state;
    explicit nfs_client(std::unique_ptr<state> s);
    std::unique_ptr<state> s_;
};

} // namespace netbootd::nfs
