// Option negotiation for a read request (RFC 2347 OACK, 2348 blksize, 2349 tsize/timeout,
// 7440 windowsize). Pure: the caller passes the file size and the server's limits.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "netbootd/tftp/packet.hpp"

namespace netbootd::tftp {

struct negotiation_limits {
    int max_blksize = 1468;
    int max_windowsize = 16;
};

struct negotiated {
    std::uint16_t blksize = 512;
    std::uint16_t windowsize = 1;
    /// The client's `timeout` option in seconds (RFC 2349), when it sent a valid one.
    std::optional<int> timeout_s;
    /// Options to acknowledge, in the order the client sent them. Empty = send no OACK: data
    /// starts at block 1 (RFC 1350 behaviour, required for the Pi 3 ROM).
    std::vector<option> oack;
};

/// Decides the transfer parameters for an RRQ of a file of `file_size` bytes.
/// Only options the client requested appear in the OACK; unknown options and invalid values are
/// ignored (RFC 2347 lets the server omit what it does not accept). blksize is clamped to
/// [8, max_blksize]; windowsize to [1, max_windowsize]; tsize is the exact size.
negotiated negotiate(const std::vector<option>& requested, std::uint64_t file_size,
                     const negotiation_limits& limits);

} // namespace netbootd::tftp
