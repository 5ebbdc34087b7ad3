// The on-disk event history: one JSON object per line in <state_dir>/events.jsonl, rotated by
// size to events.jsonl.1 .. .N. Each line is written with one write(2) on an O_APPEND file, so a
// crash (kill -9) loses nothing already handed to the kernel and never leaves half a line
// followed by another record; a torn last line after a power cut is skipped by the reader.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "netbootd/core/event_bus.hpp"

namespace netbootd::diag {

/// Parses one record written by `to_json(event)`; nullopt when it is not one.
std::optional<event> event_from_json(const nlohmann::json& j);

struct event_query {
    event_filter filter;
    /// Only events at or after this time.
    std::optional<std::chrono::system_clock::time_point> since;
    std::size_t limit = 1000;
};

class event_log {
  public:
    /// Creates `dir` if needed. Throws std::system_error if the log cannot be opened.
    event_log(std::filesystem::path dir, std::uint64_t max_bytes = 16u << 20, int keep = 4);
    ~event_log();
    event_log(const event_log&) = delete;
    event_log& operator=(const event_log&) = delete;

    /// Appends one line; rotates first when the file would exceed max_bytes. Never throws:
    /// a write error is counted (write_errors()) and the event stays in the ring buffer.
    void append(const event& e);

    /// The newest `q.limit` matching events across the rotated files, oldest first.
    std::vector<event> read(const event_query& q) const;

    std::uint64_t write_errors() const;
    std::filesystem::path file() const { return dir_ / "events.jsonl"; }

  private:
    void open_locked();
    void rotate_locked();

    std::filesystem::path dir_;
    std::uint64_t max_bytes_;
    int keep_;
    mutable std::mutex mu_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
    std::uint64_t write_errors_ = 0;
};

} // namespace netbootd::diag
