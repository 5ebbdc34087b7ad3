// Which boot stage sent a request (spec R1/R2): the Pi firmware generations, the UEFI/iPXE stage
// and the kernel's plain `ip=dhcp` client, which all use the same MAC.
#pragma once

#include <optional>
#include <string_view>

#include "netbootd/core/node.hpp"
#include "netbootd/dhcp/packet.hpp"

namespace netbootd::dhcp {

enum class client_class {
    pi3b_rom,     ///< Pi 3B boot ROM: opt 97 = 00 + 44x16; needs the 3-space menu
    pi3_bootcode, ///< Pi 3 bootcode.bin, or the 3B+ ROM: opt 97 = serial x4
    pi4,          ///< Pi 4/400/CM4 EEPROM bootloader
    pi5,          ///< Pi 5/500/CM5 EEPROM bootloader
    uefi,         ///< UEFI / iPXE stage (PXEClient with an arch other than 0, or iPXE)
    kernel,       ///< plain DHCP: Linux ip=dhcp, udhcpc, dhclient, ...
    other_pxe,    ///< an x86 BIOS PXE ROM (not a Pi): never gets the Pi menu
};
std::string_view to_string(client_class c);

/// Pi 3 generation: no DHCPREQUEST, lease committed at OFFER, broadcast replies (Q2, Q6).
inline bool is_g3(client_class c) {
    return c == client_class::pi3b_rom || c == client_class::pi3_bootcode;
}
/// A Pi firmware stage that gets the PXE options (43, 60, 97).
inline bool is_pi_firmware(client_class c) {
    return is_g3(c) || c == client_class::pi4 || c == client_class::pi5;
}

/// The vendor class prefix every Pi firmware stage sends (option 60).
inline constexpr std::string_view pi_vendor_class = "PXEClient:Arch:00000:UNDI:002001";

/// True for the Raspberry Pi OUIs of spec §1.2.
bool is_pi_oui(const mac_address& mac);

/// The Pi's serial from option 97 when it carries one (serial x4 LE, or the FourCC formats'
/// trailing 4 bytes, read little-endian); nullopt for the 3B ROM's constant GUID.
std::optional<std::uint32_t> serial_from_guid(const packet& p);

/// Classifies a decoded request. `model` is the node's configured model (detect = classify from
/// the packet alone); an override wins over the OUI/opt 97 heuristics but never turns a kernel or
/// UEFI request into a firmware one.
client_class classify(const packet& p, node_model model = node_model::detect,
                      bool known_node = false);

} // namespace netbootd::dhcp
