#include "netbootd/emu/dhcp_build.hpp"

#include <optional>
#include <utility>

namespace netbootd::emu {
namespace {

constexpr std::array<std::uint8_t, 12> prl_rom12{0x2b, 0x3c, 0x43, 0x80, 0x81, 0x82,
                                                 0x83, 0x84, 0x85, 0x86, 0x87, 0x42};
constexpr std::array<std::uint8_t, 14> prl_eeprom14{0x01, 0x03, 0x2b, 0x3c, 0x42, 0x43, 0x80,
                                                    0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87};
constexpr std::array<std::uint8_t, 8> prl_kernel{0x01, 0x03, 0x06, 0x0c, 0x0f, 0x11, 0x1a, 0x28};

void put_le32(std::array<std::uint8_t, 16>& g, std::size_t at, std::uint32_t v) {
    for (std::size_t i = 0; i < 4; ++i)
        g[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr (16), sname (64),
// file (128), magic cookie: 240 bytes.
void put_fixed_header(bytes& out, const mac_address& mac, std::uint32_t xid) {
    put_u8(out, 1); // BOOTREQUEST
    put_u8(out, 1); // Ethernet
    put_u8(out, 6);
    put_u8(out, 0); // hops
    put_u32(out, xid);
    put_u16(out, 0);    // secs
    put_u16(out, 0);    // flags: the broadcast bit is NOT set by any Pi stage
    put_zeros(out, 16); // ciaddr, yiaddr, siaddr, giaddr
    out.insert(out.end(), mac.bytes.begin(), mac.bytes.end());
    put_zeros(out, 10);  // chaddr padding
    put_zeros(out, 192); // sname + file
    put_u32(out, 0x63825363);
}

void put_prl(bytes& out, prl_kind kind) {
    put_u8(out, 55);
    if (kind == prl_kind::eeprom14) {
        put_u8(out, 14);
        out.insert(out.end(), prl_eeprom14.begin(), prl_eeprom14.end());
        return;
    }
    put_u8(out, kind == prl_kind::rom12 ? 12 : 14);
    out.insert(out.end(), prl_rom12.begin(), prl_rom12.end());
    if (kind == prl_kind::bootcode14) {
        put_u8(out, 0x01);
        put_u8(out, 0x03);
    }
}

void put_pxe_identity(bytes& out, const discover_params& p) {
    put_u8(out, 93); // client arch 0 ("x86 BIOS") on every model (Q18)
    put_u8(out, 2);
    put_u16(out, 0);
    put_u8(out, 94); // NDI: UNDI 2.1
    put_u8(out, 3);
    put_u8(out, 1);
    put_u8(out, 2);
    put_u8(out, 1);
    put_u8(out, 97);
    put_u8(out, 17);
    put_u8(out, 0);
    out.insert(out.end(), p.guid.begin(), p.guid.end());
    put_u8(out, 60);
    put_u8(out, static_cast<std::uint8_t>(pxe_vendor_class.size()));
    put_text(out, pxe_vendor_class);
}

void put_ip_option(bytes& out, std::uint8_t code, ipv4_address a) {
    put_u8(out, code);
    put_u8(out, 4);
    put_u32(out, a.value);
}

} // namespace

std::array<std::uint8_t, 16> option97_guid(opt97_style style, const mac_address& mac,
                                           std::uint32_t serial, std::uint32_t boardrev) {
    std::array<std::uint8_t, 16> g{};
    auto fourcc = [&](std::array<std::uint8_t, 4> tag) {
        for (std::size_t i = 0; i < 4; ++i)
            g[i] = tag[i];
        put_le32(g, 4, boardrev);
        for (std::size_t i = 0; i < 4; ++i)
            g[8 + i] = mac.bytes[2 + i];
        put_le32(g, 12, serial); // byte order UNCONFIRMED (spec §1.2); LE like the legacy form
    };
    switch (style) {
    case opt97_style::const44:
        g.fill(0x44);
        break;
    case opt97_style::serial4:
        for (std::size_t i = 0; i < 4; ++i)
            put_le32(g, 4 * i, serial);
        break;
    case opt97_style::rpi4_le:
        fourcc({0x52, 0x50, 0x69, 0x34}); // "RPi4"
        break;
    case opt97_style::rpi4_be:
        fourcc({0x34, 0x69, 0x50, 0x52}); // "4iPR"
        break;
    case opt97_style::rpi5:
        fourcc({0x35, 0x69, 0x50, 0x52});
        break;
    }
    return g;
}

prl_kind default_prl(model m) {
    switch (m) {
    case model::pi3b_rom:
        return prl_kind::rom12;
    case model::pi3bplus_rom:
    case model::pi3_bootcode:
        return prl_kind::bootcode14;
    case model::pi4:
    case model::pi5:
    case model::kernel_dhcp:
        return prl_kind::eeprom14;
    }
    return prl_kind::eeprom14;
}

bytes build_discover(const discover_params& p) {
    bytes out;
    out.reserve(322);
    put_fixed_header(out, p.mac, p.xid);
    put_u8(out, 53);
    put_u8(out, 1);
    put_u8(out, 1);
    put_prl(out, p.prl);
    put_pxe_identity(out, p);
    put_u8(out, 255);
    return out;
}

bytes build_eeprom_request(const discover_params& p, ipv4_address requested, ipv4_address server) {
    bytes out;
    out.reserve(340);
    put_fixed_header(out, p.mac, p.xid);
    put_u8(out, 53);
    put_u8(out, 1);
    put_u8(out, 3);
    put_ip_option(out, 54, server);
    put_ip_option(out, 50, requested);
    put_prl(out, p.prl);
    put_pxe_identity(out, p);
    put_u8(out, 255);
    return out;
}

namespace {

bytes kernel_packet(const mac_address& mac, std::uint32_t xid, std::uint8_t type,
                    std::optional<std::pair<ipv4_address, ipv4_address>> req_server) {
    bytes out;
    out.reserve(548);
    put_fixed_header(out, mac, xid);
    put_u8(out, 53);
    put_u8(out, 1);
    put_u8(out, type);
    if (req_server) {
        put_ip_option(out, 54, req_server->second);
        put_ip_option(out, 50, req_server->first);
    }
    put_u8(out, 55);
    put_u8(out, static_cast<std::uint8_t>(prl_kernel.size()));
    out.insert(out.end(), prl_kernel.begin(), prl_kernel.end());
    put_u8(out, 255);
    out.resize(548, 0); // 236-byte header + the kernel's 312-byte vendor area, zero-filled
    return out;
}

} // namespace

bytes build_kernel_discover(const mac_address& mac, std::uint32_t xid) {
    return kernel_packet(mac, xid, 1, std::nullopt);
}

bytes build_kernel_request(const mac_address& mac, std::uint32_t xid, ipv4_address requested,
                           ipv4_address server) {
    return kernel_packet(mac, xid, 3, std::make_pair(requested, server));
}

} // namespace netbootd::emu
