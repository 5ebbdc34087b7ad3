// A lock-step TFTP read client on an ordinary UDP socket, with the probe ("Early terminate") and
// fetch mechanics of the Pi stages (spec §1.6, §5.4, §5.5). Every wait is bounded by a
// retransmit interval, a retransmit count, a per-file timeout and the caller's overall deadline.
#pragma once

#include "netbootd/core/net_types.hpp"
#include "netbootd/core/sha256.hpp"
#include "netbootd/emu/bytes.hpp"
#include "netbootd/emu/packet_socket.hpp"

#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

namespace netbootd::emu {

struct tftp_settings {
    ipv4_address server;
    std::uint16_t server_port = 69;
    bool send_tsize = true;               ///< `tsize 0` in every RRQ (not the Pi 3 ROM)
    std::optional<std::uint16_t> blksize; ///< `blksize N` (Pi 4/5 only)
    std::chrono::milliseconds rrq_retransmit{2000};
    std::chrono::milliseconds ack_retransmit{2000};
    int max_retransmits = 8;
    std::chrono::milliseconds file_timeout{30000}; ///< TFTP_FILE_TIMEOUT
    /// Data-path stress (spec §5.5 step 6), fetches only: withhold the ACK of this block once, so
    /// the server must retransmit the DATA after its timeout ...
    std::optional<std::uint16_t> drop_ack_block;
    /// ... and send the ACK of this block twice, which the server must not answer with a second
    /// copy of the next block (T5, Sorcerer's Apprentice).
    std::optional<std::uint16_t> dup_ack_block;
    /// How long to wait for the server's retransmission of a withheld ACK's block.
    std::chrono::milliseconds server_retransmit_wait{10000};
};

enum class file_outcome { fetched, not_found, probed, failed };
std::string_view to_string(file_outcome o);

struct file_result {
    std::string name;
    file_outcome outcome = file_outcome::failed;
    std::uint64_t bytes = 0; ///< received (fetch) or announced by tsize (probe)
    std::string sha256;      ///< fetched files only
    std::optional<std::uint64_t> tsize;
    bool oack = false;
    std::optional<std::uint16_t> blksize; ///< as acknowledged in the OACK
    std::vector<std::string> unrequested_options;
    std::uint16_t error_code = 0;
    std::string detail;
    std::chrono::milliseconds first_reply_after{0};
    std::uint16_t local_port = 0;
    std::uint16_t server_port = 0;     ///< the server's transfer port (TID) of its first reply
    int duplicates = 0;                ///< duplicate DATA blocks seen (re-ACKed)
    int retransmits = 0;               ///< RRQs/ACKs we re-sent
    std::string content;               ///< kept for small text files (config.txt) when asked
    bool ack_dropped = false;          ///< drop_ack_block was reached and its ACK withheld
    bool server_retransmitted = false; ///< ... and the server re-sent that block
    bool ack_duplicated = false;       ///< dup_ack_block was reached and ACKed twice
};

/// One read transfer from one local port.
class tftp_transfer {
  public:
    /// Opens the socket (local_port 0 = ephemeral), sends the RRQ. `save_path` (may be empty)
    /// receives the file when it is fetched; `keep_content` keeps up to 64 KiB in memory.
    static tl::expected<std::unique_ptr<tftp_transfer>, std::string>
    start(const tftp_settings& s, std::string name, std::uint16_t local_port,
          std::string save_path = {}, bool keep_content = false);
    ~tftp_transfer();
    tftp_transfer(const tftp_transfer&) = delete;
    tftp_transfer& operator=(const tftp_transfer&) = delete;

    /// Waits for DATA 1 (after ACKing an OACK with ACK 0). True: DATA 1 is in hand and the
    /// transfer may be aborted or continued; false: it ended (not found, error, timeout).
    bool until_first_data(clock_type::time_point overall_deadline);
    /// Sends ERROR 0 "Early terminate" to the server's transfer port; the result becomes probed.
    void abort_early();
    /// ACKs DATA 1 and receives the rest in lock-step; the result becomes fetched or failed.
    void run_to_end(clock_type::time_point overall_deadline);
    /// After abort_early(): packets the server sent to this port more than `grace` after the
    /// "Early terminate" (it must send none, T3). The grace covers a retransmission the server
    /// had already sent before our ERROR reached it.
    int late_packets(std::chrono::milliseconds grace);

    const file_result& result() const { return result_; }
    clock_type::time_point aborted_at() const { return aborted_at_; }

  private:
    tftp_transfer() = default;
    std::optional<bytes> wait_packet(clock_type::time_point deadline);
    void send_to_tid(byte_view b);
    void fail(std::string why);
    bool accept_data(byte_view data);
    void finish_fetch();

    tftp_settings s_;
    int fd_ = -1;
    std::uint32_t server_ip_ = 0;
    std::optional<std::uint16_t> tid_;
    bytes last_sent_;
    clock_type::time_point started_{};
    clock_type::time_point last_send_{};
    clock_type::time_point aborted_at_{};
    std::chrono::system_clock::time_point aborted_wall_{}; // comparable with SO_TIMESTAMP
    std::uint16_t block_size_ = 512;
    std::uint16_t next_block_ = 1;
    bool complete_ = false;
    bool failed_ = false;
    bool any_reply_ = false;
    sha256 hash_;
    std::string save_path_;
    std::ofstream save_;
    bool keep_content_ = false;
    file_result result_;
};

} // namespace netbootd::emu
