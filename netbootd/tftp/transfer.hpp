// The sending side of one read transfer as a pure state machine: events (ACK, timeout, client
// ERROR) and the current time go in, actions (send these blocks, done, fail) come out. No I/O and
// no clock of its own, so tests drive it with a fake clock.
//
// Blocks are counted with 64-bit absolute indices (1 = first DATA block); the wire carries the low
// 16 bits, so block 65536 goes out as 0 (spec T6, the Pi bootloader's rollover). Block 0 is the
// OACK, acknowledged by ACK 0.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace netbootd::tftp {

using steady_time = std::chrono::steady_clock::time_point;

struct transfer_params {
    std::uint64_t size = 0;
    std::uint16_t blksize = 512;
    std::uint16_t windowsize = 1;
    /// Start with an OACK (the request carried options we acknowledge).
    bool oack = false;
    /// First retransmit timeout; doubled after each retransmit up to max_timeout (spec T5).
    std::chrono::milliseconds initial_timeout{1000};
    std::chrono::milliseconds max_timeout{5000};
    /// Retransmits of the same window before the transfer is given up.
    int max_retries = 5;
};

struct action {
    enum class kind {
        /// Nothing to do (e.g. a duplicate ACK, which is never answered: spec T5).
        none,
        /// Send the OACK (if `oack`) or DATA blocks [first, first + count).
        send,
        /// Every block was sent; `final_ack` says whether the last one was acknowledged (spec T9).
        done,
        /// Given up after max_retries timeouts.
        timed_out,
        /// The client sent an ERROR (e.g. "Early terminate"): end at once, send nothing (T3).
        aborted,
    };
    kind what = kind::none;
    bool oack = false;
    std::uint64_t first = 0;
    std::uint64_t count = 0;
    bool retransmit = false;
    bool final_ack = true;
};

class transfer {
  public:
    transfer(const transfer_params& p, steady_time now);

    /// The first packet(s): the OACK, or the first window of DATA.
    action start(steady_time now);
    /// An ACK for wire block `block`. ACKs that do not advance the window are ignored.
    action on_ack(std::uint16_t block, steady_time now);
    /// Call when now >= deadline(); retransmits the unacknowledged window or gives up.
    action on_timeout(steady_time now);
    /// The client sent an ERROR packet.
    action on_error();

    /// When on_timeout is due; time_point::max() once finished.
    steady_time deadline() const { return deadline_; }
    bool finished() const { return finished_; }
    /// Number of DATA blocks in the file (the last one is shorter than blksize, possibly empty).
    std::uint64_t block_count() const { return nblocks_; }
    /// Byte range of absolute block `abs` (1-based).
    std::uint64_t block_offset(std::uint64_t abs) const { return (abs - 1) * p_.blksize; }
    std::size_t block_length(std::uint64_t abs) const;
    static std::uint16_t wire_block(std::uint64_t abs) {
        return static_cast<std::uint16_t>(abs & 0xffff);
    }
    /// Blocks (or OACKs) sent again after a timeout.
    std::uint64_t retransmits() const { return retransmits_; }
    /// Duplicate or stale ACKs seen (and ignored).
    std::uint64_t ignored_acks() const { return ignored_acks_; }
    /// Bytes of DATA acknowledged so far.
    std::uint64_t bytes_acked() const;
    const transfer_params& params() const { return p_; }

  private:
    action send_window(steady_time now, bool retransmit);

    transfer_params p_;
    std::uint64_t nblocks_;
    /// Lowest unacknowledged block (0 while the OACK is outstanding).
    std::uint64_t base_ = 0;
    /// Highest block sent so far (0: only the OACK, or nothing yet).
    std::uint64_t sent_hi_ = 0;
    std::chrono::milliseconds timeout_;
    int retries_ = 0;
    std::uint64_t retransmits_ = 0;
    std::uint64_t ignored_acks_ = 0;
    steady_time deadline_;
    bool finished_ = false;
};

} // namespace netbootd::tftp
