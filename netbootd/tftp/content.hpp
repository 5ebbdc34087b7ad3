// What a transfer sends: a file's bytes held in memory (shared by every transfer of that file) or,
// for files too large to cache, read from an open descriptor window by window.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace netbootd::tftp {

class content {
  public:
    virtual ~content() = default;
    virtual std::uint64_t size() const = 0;
    /// Bytes [offset, offset + len), clipped to the size. In-memory content returns a view into
    /// itself; other content reads into `scratch` (at least `len` bytes) and returns a view of it.
    /// On a read error returns an empty span and sets `ec`.
    virtual std::span<const std::uint8_t> read(std::uint64_t offset, std::size_t len,
                                               std::span<std::uint8_t> scratch,
                                               std::error_code& ec) const = 0;
    /// True when read() never touches `scratch` (no syscalls while sending).
    virtual bool in_memory() const = 0;
};

using content_ptr = std::shared_ptr<const content>;

class memory_content final : public content {
  public:
    explicit memory_content(std::vector<std::uint8_t> bytes) : bytes_(std::move(bytes)) {}
    std::uint64_t size() const override { return bytes_.size(); }
    std::span<const std::uint8_t> read(std::uint64_t offset, std::size_t len,
                                       std::span<std::uint8_t> scratch,
                                       std::error_code& ec) const override;
    bool in_memory() const override { return true; }
    std::span<const std::uint8_t> bytes() const { return bytes_; }

  private:
    std::vector<std::uint8_t> bytes_;
};

/// Reads with pread from a descriptor it owns. Used for files above the cache's per-file limit.
class fd_content final : public content {
  public:
    fd_content(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
    ~fd_content() override;
    fd_content(const fd_content&) = delete;
    fd_content& operator=(const fd_content&) = delete;
    std::uint64_t size() const override { return size_; }
    std::span<const std::uint8_t> read(std::uint64_t offset, std::size_t len,
                                       std::span<std::uint8_t> scratch,
                                       std::error_code& ec) const override;
    bool in_memory() const override { return false; }

  private:
    int fd_;
    std::uint64_t size_;
};

content_ptr make_memory_content(std::string_view text);

/// RFC 764 netascii form of `in` (LF -> CR LF, CR -> CR NUL), for clients asking mode netascii.
std::vector<std::uint8_t> to_netascii(std::span<const std::uint8_t> in);

} // namespace netbootd::tftp
