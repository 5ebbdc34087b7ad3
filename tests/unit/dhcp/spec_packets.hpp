// DHCP requests byte for byte as the protocol spec (§1.1, §2.5) describes them, for the unit
// tests: the Pi firmware DISCOVERs per generation, the kernel's ip=dhcp and a UEFI client.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace netbootd::dhcp::spec {

using bytes = std::vector<std::uint8_t>;

inline void put(bytes& b, std::initializer_list<std::uint8_t> v) {
    b.insert(b.end(), v);
}
inline void put_str(bytes& b, const std::string& s) {
    b.insert(b.end(), s.begin(), s.end());
}

/// The fixed BOOTP header + cookie for a request from `mac` with `xid`.
inline bytes header(const bytes& mac, std::uint32_t xid, std::uint8_t msg_op = 1) {
    bytes b(236, 0);
    b[0] = msg_op;
    b[1] = 1;
    b[2] = 6;
    b[4] = static_cast<std::uint8_t>(xid >> 24);
    b[5] = static_cast<std::uint8_t>(xid >> 16);
    b[6] = static_cast<std::uint8_t>(xid >> 8);
    b[7] = static_cast<std::uint8_t>(xid);
    for (std::size_t i = 0; i < mac.size() && i < 16; ++i)
        b[28 + i] = mac[i];
    put(b, {0x63, 0x82, 0x53, 0x63});
    return b;
}

inline const std::string vendor = "PXEClient:Arch:00000:UNDI:002001";

inline bytes pi_tail(const bytes& guid16) {
    bytes b;
    put(b, {0x5d, 0x02, 0x00, 0x00, 0x5e, 0x03, 0x01, 0x02, 0x01, 0x61, 0x11, 0x00});
    b.insert(b.end(), guid16.begin(), guid16.end());
    put(b, {0x3c, 0x20});
    put_str(b, vendor);
    put(b, {0xff});
    return b;
}

inline bytes serial4(std::uint32_t serial) {
    bytes g;
    for (int i = 0; i < 4; ++i)
        put(g, {static_cast<std::uint8_t>(serial), static_cast<std::uint8_t>(serial >> 8),
                static_cast<std::uint8_t>(serial >> 16), static_cast<std::uint8_t>(serial >> 24)});
    return g;
}

/// Pi 3B ROM: xid 0x26f30339, PRL 12, opt 97 = 00 + 44 x16; BOOTP 320 bytes.
inline bytes pi3b_rom_discover(const bytes& mac = {0xb8, 0x27, 0xeb, 0xfc, 0x6a, 0x59}) {
    auto b = header(mac, 0x26f30339);
    put(b, {0x35, 0x01, 0x01, 0x37, 0x0c, 0x2b, 0x3c, 0x43, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85,
            0x86, 0x87, 0x42});
    auto t = pi_tail(bytes(16, 0x44));
    b.insert(b.end(), t.begin(), t.end());
    return b;
}

/// Pi 3 bootcode.bin (and the 3B+ ROM): PRL 14 (1,3 appended), opt 97 = serial LE x4; 322 bytes.
inline bytes pi3_bootcode_discover(const bytes& mac = {0xb8, 0x27, 0xeb, 0xfc, 0x6a, 0x59},
                                   std::uint32_t serial = 0xa2ef5644) {
    auto b = header(mac, 0x26f30339);
    put(b, {0x35, 0x01, 0x01, 0x37, 0x0e, 0x2b, 0x3c, 0x43, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85,
            0x86, 0x87, 0x42, 0x01, 0x03});
    auto t = pi_tail(serial4(serial));
    b.insert(b.end(), t.begin(), t.end());
    return b;
}

inline bytes pi45_prl() {
    return {0x35, 0x01, 0x01, 0x37, 0x0e, 0x01, 0x03, 0x2b, 0x3c, 0x42,
            0x43, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87};
}

/// Pi 4 EEPROM with the given 16 GUID bytes; 322 bytes.
inline bytes pi4_discover(const bytes& mac, const bytes& guid16, std::uint32_t xid = 0xd383a6ac) {
    auto b = header(mac, xid);
    auto p = pi45_prl();
    b.insert(b.end(), p.begin(), p.end());
    auto t = pi_tail(guid16);
    b.insert(b.end(), t.begin(), t.end());
    return b;
}

/// "RPi4" LE FourCC + board rev c03140 + MAC tail + serial (2020-03 .. 2022 bootloaders).
inline bytes guid_rpi4_le(std::uint32_t serial = 0x6aee7243) {
    return {0x52,
            0x50,
            0x69,
            0x34,
            0x40,
            0x31,
            0xc0,
            0x00,
            0x01,
            0x94,
            0x24,
            0xf8,
            static_cast<std::uint8_t>(serial),
            static_cast<std::uint8_t>(serial >> 8),
            static_cast<std::uint8_t>(serial >> 16),
            static_cast<std::uint8_t>(serial >> 24)};
}
/// "4iPR" (FourCC big-endian, bootloaders from 2023).
inline bytes guid_rpi4_be(std::uint32_t serial = 0x6aee7243) {
    auto g = guid_rpi4_le(serial);
    g[0] = 0x34;
    g[1] = 0x69;
    g[2] = 0x50;
    g[3] = 0x52;
    return g;
}
/// Pi 5: 35 69 50 52 ...
inline bytes guid_rpi5(std::uint32_t serial = 0xda591740) {
    auto g = guid_rpi4_le(serial);
    g[0] = 0x35;
    g[1] = 0x69;
    g[2] = 0x50;
    g[3] = 0x52;
    return g;
}

/// Linux ipconfig.c: no vendor class, PRL 1,3,6,12,15,17,26,40.
inline bytes kernel_discover(const bytes& mac, std::uint32_t xid = 0x1234abcd) {
    auto b = header(mac, xid);
    put(b, {0x35, 0x01, 0x01, 0x37, 0x08, 0x01, 0x03, 0x06, 0x0c, 0x0f, 0x11, 0x1a, 0x28, 0xff});
    return b;
}

/// The kernel's REQUEST for `ip` from server `sid`.
inline bytes kernel_request(const bytes& mac, std::uint32_t ip, std::uint32_t sid,
                            std::uint32_t xid = 0x1234abcd) {
    auto b = header(mac, xid);
    put(b, {0x35,
            0x01,
            0x03,
            0x36,
            0x04,
            static_cast<std::uint8_t>(sid >> 24),
            static_cast<std::uint8_t>(sid >> 16),
            static_cast<std::uint8_t>(sid >> 8),
            static_cast<std::uint8_t>(sid),
            0x32,
            0x04,
            static_cast<std::uint8_t>(ip >> 24),
            static_cast<std::uint8_t>(ip >> 16),
            static_cast<std::uint8_t>(ip >> 8),
            static_cast<std::uint8_t>(ip),
            0x37,
            0x08,
            0x01,
            0x03,
            0x06,
            0x0c,
            0x0f,
            0x11,
            0x1a,
            0x28,
            0xff});
    return b;
}

/// EDK2 ARM64 (arch 11) PXE from a Pi MAC.
inline bytes uefi_discover(const bytes& mac) {
    auto b = header(mac, 0x55aa55aa);
    put(b, {0x35, 0x01, 0x01, 0x5d, 0x02, 0x00, 0x0b, 0x5e, 0x03, 0x01, 0x03, 0x00, 0x3c, 0x20});
    put_str(b, "PXEClient:Arch:00011:UNDI:003000");
    put(b, {0xff});
    return b;
}

} // namespace netbootd::dhcp::spec
