// File contents shared between transfers: the same start4.elf goes to 60 nodes, so it is read
// once and served from memory. An entry is keyed by (device, inode) and reused only while size and
// mtime still match, so a replaced or rewritten file is picked up by the next request.
//
// Files are copied into memory rather than mmap'd: an operator rewriting kernel8.img in place
// (cp truncates first) would turn a shared mapping into SIGBUS for the whole daemon.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <system_error>
#include <tuple>

#include <tl/expected.hpp>

#include "netbootd/tftp/content.hpp"

namespace netbootd::tftp {

struct file_cache_limits {
    /// Larger files are streamed with pread instead of cached.
    std::uint64_t max_file_bytes = 64ull << 20;
    /// Least recently used entries are dropped beyond this total.
    std::uint64_t max_total_bytes = 512ull << 20;
};

class file_cache {
  public:
    explicit file_cache(file_cache_limits limits = {}) : limits_(limits) {}

    /// Content of the open regular file `fd`. Takes ownership of `fd` (closes it, or hands it to
    /// the returned content for large files).
    tl::expected<content_ptr, std::error_code> get(int fd);

    struct stats {
        std::uint64_t hits = 0;
        std::uint64_t misses = 0;
        std::uint64_t entries = 0;
        std::uint64_t bytes = 0;
    };
    stats statistics() const;

  private:
    using key = std::tuple<std::uint64_t, std::uint64_t>; // dev, ino
    struct entry {
        std::uint64_t size = 0;
        std::int64_t mtime_ns = 0;
        std::int64_t ctime_ns = 0;
        content_ptr data;
        std::list<key>::iterator lru;
    };
    void evict();

    file_cache_limits limits_;
    std::map<key, entry> entries_;
    std::list<key> lru_; // front = most recent
    std::uint64_t total_ = 0;
    std::uint64_t hits_ = 0;
    std::uint64_t misses_ = 0;
};

} // namespace netbootd::tftp
