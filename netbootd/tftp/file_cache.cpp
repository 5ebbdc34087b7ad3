#include "netbootd/tftp/file_cache.hpp"

#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

namespace netbootd::tftp {

namespace {

std::int64_t ns(const timespec& t) {
    return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

std::error_code last_error() {
    return {errno, std::generic_category()};
}

/// Reads exactly `size` bytes from the start of `fd`.
tl::expected<std::vector<std::uint8_t>, std::error_code> read_all(int fd, std::uint64_t size) {
    std::vector<std::uint8_t> buf(static_cast<std::size_t>(size));
    std::size_t got = 0;
    while (got < buf.size()) {
        auto r = ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(got));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return tl::unexpected(last_error());
        }
        if (r == 0)
            break;
        got += static_cast<std::size_t>(r);
    }
    buf.resize(got);
    return buf;
}

} // namespace

tl::expected<content_ptr, std::error_code> file_cache::get(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        auto ec = last_error();
        ::close(fd);
        return tl::unexpected(ec);
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size > limits_.max_file_bytes)
        return std::make_shared<fd_content>(fd, size);

    const key k{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
    auto it = entries_.find(k);
    if (it != entries_.end()) {
        auto& e = it->second;
        if (e.size == size && e.mtime_ns == ns(st.st_mtim) && e.ctime_ns == ns(st.st_ctim)) {
            ::close(fd);
            ++hits_;
            lru_.splice(lru_.begin(), lru_, e.lru);
            return e.data;
        }
        total_ -= e.size;
        lru_.erase(e.lru);
        entries_.erase(it);
    }
    ++misses_;
    auto bytes = read_all(fd, size);
    ::close(fd);
    if (!bytes)
        return tl::unexpected(bytes.error());
    const bool complete = bytes->size() == size;
    auto data = std::make_shared<memory_content>(std::move(*bytes));
    // A file that changed while we read it is served as read but not cached.
    if (complete) {
        lru_.push_front(k);
        entries_.emplace(k, entry{size, ns(st.st_mtim), ns(st.st_ctim), data, lru_.begin()});
        total_ += size;
        evict();
    }
    return data;
}

void file_cache::evict() {
    while (total_ > limits_.max_total_bytes && lru_.size() > 1) {
        auto k = lru_.back();
        lru_.pop_back();
        auto it = entries_.find(k);
        total_ -= it->second.size;
        entries_.erase(it);
    }
}

file_cache::stats file_cache::statistics() const {
    return stats{hits_, misses_, entries_.size(), total_};
}

} // namespace netbootd::tftp
