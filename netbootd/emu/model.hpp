// The emulated Raspberry Pi boot stages and their per-model parameters (protocol spec §5).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace netbootd::emu {

/// One boot stage that talks on the wire. A run starts at one of them and follows the real chain
/// (ROM → bootcode.bin → start.elf, or EEPROM → start4.elf).
enum class model { pi3b_rom, pi3bplus_rom, pi3_bootcode, pi4, pi5, kernel_dhcp };

/// The 16 bytes after the leading 00 of option 97 (spec §1.2).
enum class opt97_style { const44, serial4, rpi4_le, rpi4_be, rpi5 };

/// How the TFTP prefix directory is formed (spec §2.4).
enum class prefix_mode { serial, mac, str };

std::optional<model> parse_model(std::string_view text);
std::string_view to_string(model m);
std::optional<opt97_style> parse_opt97_style(std::string_view text);
std::string_view to_string(opt97_style s);

/// The option 97 the real device of that model sends by default.
opt97_style default_opt97_style(model m);
/// Pi 3 family: constant xid, no REQUEST, UDP checksum 0, TTL 128.
bool is_pi3_family(model m);
/// Board revision used when none is given: a Pi 4B 4 GB (c03111) or a Pi 5 8 GB (d04170).
std::uint32_t default_boardrev(model m);

} // namespace netbootd::emu
