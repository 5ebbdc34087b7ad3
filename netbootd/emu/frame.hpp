// Ethernet + IPv4 + UDP framing for the packet socket: the Pi stages send from 0.0.0.0 with their
// own MAC before they have an address, so the emulator writes whole frames itself. Pure.
#pragma once

#include "netbootd/core/net_types.hpp"
#include "netbootd/emu/bytes.hpp"

#include <cstdint>
#include <string>
#include <tl/expected.hpp>

namespace netbootd::emu {

struct udp_frame_params {
    mac_address src_mac;
    mac_address dst_mac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
    ipv4_address src_ip;
    ipv4_address dst_ip{0xffffffffu};
    std::uint16_t src_port = 68;
    std::uint16_t dst_port = 67;
    std::uint8_t ttl = 64;
    std::uint16_t ip_id = 0;
    /// Pi 3 stages send UDP checksum 0 ("no checksum"); Pi 4/5 compute it.
    bool udp_checksum = true;
};

/// The 16-bit one's complement sum used by IPv4 and UDP, folded and complemented.
std::uint16_t inet_checksum(byte_view data, std::uint32_t initial_sum = 0);

/// A complete Ethernet II frame (no FCS) carrying IPv4/UDP with `payload`. IPv4 has no options,
/// DF clear, a correct header checksum.
bytes build_udp_frame(const udp_frame_params& p, byte_view payload);

/// A received IPv4/UDP frame. `payload` points into the buffer given to parse_udp_frame.
struct udp_datagram {
    mac_address eth_src;
    mac_address eth_dst;
    ipv4_address src;
    ipv4_address dst;
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::uint8_t ttl = 0;
    byte_view payload;
};

/// Parses an Ethernet II frame holding an unfragmented IPv4/UDP datagram. The UDP checksum is not
/// verified: on veth the sender's checksum may still be left to offload when a packet socket sees
/// it.
tl::expected<udp_datagram, std::string> parse_udp_frame(byte_view frame);

} // namespace netbootd::emu
