// TFTP packets as the Pi stages send and expect them (RFC 1350, 2347-2349). Pure. Independent of
// netbootd's server-side TFTP codec on purpose.
#pragma once

#include "netbootd/emu/bytes.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

namespace netbootd::emu {

using tftp_options = std::vector<std::pair<std::string, std::string>>;

enum class tftp_opcode : std::uint16_t { rrq = 1, wrq = 2, data = 3, ack = 4, error = 5, oack = 6 };

/// RRQ "<file>" octet [name value]...: each string NUL-terminated, options in the given order.
bytes build_rrq(std::string_view file, const tftp_options& options = {});
bytes build_ack(std::uint16_t block);
bytes build_error(std::uint16_t code, std::string_view message);
/// `00 05 00 00 "Early terminate" 00`: how bootcode.bin, start*.elf and the EEPROM end a probe.
const bytes& early_terminate();

struct tftp_packet {
    tftp_opcode opcode = tftp_opcode::data;
    std::uint16_t block = 0;      ///< DATA
    byte_view data;               ///< DATA payload, points into the parsed buffer
    std::uint16_t error_code = 0; ///< ERROR
    std::string error_message;    ///< ERROR
    tftp_options options;         ///< OACK, names lower-cased
};

/// Parses a packet a server sends (DATA, ERROR, OACK); anything else is an error.
tl::expected<tftp_packet, std::string> parse_tftp(byte_view packet);

} // namespace netbootd::emu
