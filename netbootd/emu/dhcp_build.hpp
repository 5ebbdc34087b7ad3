// Builds the BOOTP/DHCP payloads the Pi stages send, byte by byte from the spec's §1.1 templates.
// Pure: no I/O, no clock. Deliberately independent of netbootd's own DHCP codec, so a symmetric bug
// in the server cannot hide behind a shared encoder.
#pragma once

#include "netbootd/core/net_types.hpp"
#include "netbootd/emu/bytes.hpp"
#include "netbootd/emu/model.hpp"

#include <array>
#include <cstdint>

namespace netbootd::emu {

/// The xid every Pi 3 ROM and bootcode.bin uses on every boot (Q3).
inline constexpr std::uint32_t pi3_xid = 0x26f30339;

/// The 16-byte GUID of option 97 (after its leading 00) for a style (spec §1.2). The FourCC
/// formats carry board revision LE, MAC bytes 2..5 in wire order, then the serial LE.
std::array<std::uint8_t, 16> option97_guid(opt97_style style, const mac_address& mac,
                                           std::uint32_t serial, std::uint32_t boardrev);

/// Which parameter request list (option 55) a stage sends.
enum class prl_kind {
    rom12,      // 3B ROM: 43,60,67,128..135,66
    bootcode14, // bootcode.bin (and 3B+ ROM by default): the 12 above + 1,3
    eeprom14,   // Pi 4/5 EEPROM: 1,3,43,60,66,67,128..135
};
prl_kind default_prl(model m);

struct discover_params {
    mac_address mac;
    std::uint32_t xid = pi3_xid;
    prl_kind prl = prl_kind::bootcode14;
    std::array<std::uint8_t, 16> guid{};
};

/// The firmware-stage DHCPDISCOVER: options 53, 55, 93, 94, 97, 60, 255 and nothing after END,
/// so 320 bytes with the 12-item PRL and 322 with 14.
bytes build_discover(const discover_params& p);

/// The Pi 4/5 DHCPREQUEST (REQUEST options beyond 53/54/50 are UNCONFIRMED; we send what an RFC
/// client sends plus the PXE identification: 53, 54, 50, 55, 93, 94, 97, 60, 255).
bytes build_eeprom_request(const discover_params& p, ipv4_address requested, ipv4_address server);

/// Linux ipconfig's DISCOVER (spec §5.7): PRL 1,3,6,12,15,17,26,40, no 60/93/94/97; the vendor
/// area is padded to the 312 bytes of the kernel's struct bootp_pkt (548-byte payload).
bytes build_kernel_discover(const mac_address& mac, std::uint32_t xid);
/// Linux ipconfig's REQUEST: 53, 54, 50, the same PRL.
bytes build_kernel_request(const mac_address& mac, std::uint32_t xid, ipv4_address requested,
                           ipv4_address server);

/// The vendor class every firmware stage sends (option 60), 32 ASCII bytes.
inline constexpr std::string_view pxe_vendor_class = "PXEClient:Arch:00000:UNDI:002001";

} // namespace netbootd::emu
