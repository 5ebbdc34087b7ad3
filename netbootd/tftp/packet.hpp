// TFTP wire codec (RFC 1350, 2347): RRQ/WRQ/DATA/ACK/ERROR/OACK and the option list of a request.
// Pure: no I/O, no clock, never throws, never logs. DATA payloads are views into the input.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <tl/expected.hpp>

namespace netbootd::tftp {

enum class opcode : std::uint16_t { rrq = 1, wrq = 2, data = 3, ack = 4, error = 5, oack = 6 };

/// RFC 1350 / 2347 error codes.
enum class error_code : std::uint16_t {
    not_defined = 0,
    file_not_found = 1,
    access_violation = 2,
    disk_full = 3,
    illegal_operation = 4,
    unknown_tid = 5,
    file_exists = 6,
    no_such_user = 7,
    option_refused = 8,
};

/// Limits on what a client controls in one packet.
inline constexpr std::size_t max_filename_length = 255;
inline constexpr std::size_t max_option_count = 16;
inline constexpr std::size_t max_option_text = 64;
inline constexpr std::size_t max_error_message = 255;

struct option {
    /// As sent (case preserved); compare with iequals.
    std::string name;
    std::string value;
    bool operator==(const option&) const = default;
};

/// RRQ or WRQ.
struct request {
    bool write = false;
    std::string filename;
    /// As sent; "octet", "netascii" or "mail" in any case.
    std::string mode;
    std::vector<option> options;
    bool operator==(const request&) const = default;
};

struct data_packet {
    std::uint16_t block = 0;
    std::span<const std::uint8_t> payload;
    bool operator==(const data_packet& o) const {
        return block == o.block &&
               std::equal(payload.begin(), payload.end(), o.payload.begin(), o.payload.end());
    }
};

struct ack_packet {
    std::uint16_t block = 0;
    bool operator==(const ack_packet&) const = default;
};

struct error_packet {
    std::uint16_t code = 0;
    std::string message;
    bool operator==(const error_packet&) const = default;
};

struct oack_packet {
    std::vector<option> options;
    bool operator==(const oack_packet&) const = default;
};

using packet = std::variant<request, data_packet, ack_packet, error_packet, oack_packet>;

/// Why a datagram was not a TFTP packet; stable names for events (see to_string).
enum class decode_error {
    too_short,
    unknown_opcode,
    unterminated_string,
    empty_filename,
    filename_too_long,
    bad_mode,
    odd_option,
    too_many_options,
    option_too_long,
    empty_option_name,
    duplicate_option,
    trailing_bytes,
    message_too_long,
};

std::string_view to_string(decode_error e);
std::string_view to_string(opcode op);

/// Decodes one datagram. Every input either decodes or returns an error.
tl::expected<packet, decode_error> decode(std::span<const std::uint8_t> bytes);

/// Appends the encoding of `p` to `out`.
void encode_to(std::vector<std::uint8_t>& out, const packet& p);

/// The 4-byte DATA header for `block`, for scatter-gather sends (payload sent from its own buffer).
inline std::array<std::uint8_t, 4> data_header(std::uint16_t block) {
    return {0, static_cast<std::uint8_t>(opcode::data), static_cast<std::uint8_t>(block >> 8),
            static_cast<std::uint8_t>(block & 0xff)};
}

/// ASCII case-insensitive equality (option names, modes).
bool iequals(std::string_view a, std::string_view b);

/// The value of option `name` (case-insensitive), or nullptr.
const option* find_option(const std::vector<option>& opts, std::string_view name);

} // namespace netbootd::tftp
