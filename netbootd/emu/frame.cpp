#include "netbootd/emu/frame.hpp"

namespace netbootd::emu {
namespace {

std::uint32_t sum16(byte_view data, std::uint32_t sum) {
    std::size_t i = 0;
    for (; i + 1 < data.size(); i += 2)
        sum += get_u16(data, i);
    if (i < data.size())
        sum += std::uint32_t{data[i]} << 8;
    return sum;
}

std::uint16_t fold(std::uint32_t sum) {
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

} // namespace

std::uint16_t inet_checksum(byte_view data, std::uint32_t initial_sum) {
    return fold(sum16(data, initial_sum));
}

bytes build_udp_frame(const udp_frame_params& p, byte_view payload) {
    bytes out;
    out.reserve(14 + 20 + 8 + payload.size());
    out.insert(out.end(), p.dst_mac.bytes.begin(), p.dst_mac.bytes.end());
    out.insert(out.end(), p.src_mac.bytes.begin(), p.src_mac.bytes.end());
    put_u16(out, 0x0800);

    const std::size_t ip_at = out.size();
    const auto udp_len = static_cast<std::uint16_t>(8 + payload.size());
    put_u8(out, 0x45); // IPv4, IHL 5
    put_u8(out, 0);    // DSCP/ECN
    put_u16(out, static_cast<std::uint16_t>(20 + udp_len));
    put_u16(out, p.ip_id);
    put_u16(out, 0); // flags/fragment: no DF (the Pi 3 capture shows none)
    put_u8(out, p.ttl);
    put_u8(out, 17);
    put_u16(out, 0); // header checksum, filled below
    put_u32(out, p.src_ip.value);
    put_u32(out, p.dst_ip.value);
    const std::uint16_t ip_sum = inet_checksum(byte_view(out).subspan(ip_at, 20));
    out[ip_at + 10] = static_cast<std::uint8_t>(ip_sum >> 8);
    out[ip_at + 11] = static_cast<std::uint8_t>(ip_sum);

    const std::size_t udp_at = out.size();
    put_u16(out, p.src_port);
    put_u16(out, p.dst_port);
    put_u16(out, udp_len);
    put_u16(out, 0);
    out.insert(out.end(), payload.begin(), payload.end());
    if (p.udp_checksum) {
        // Pseudo-header: source, destination, zero + protocol, UDP length.
        std::uint32_t pseudo = (p.src_ip.value >> 16) + (p.src_ip.value & 0xffff) +
                               (p.dst_ip.value >> 16) + (p.dst_ip.value & 0xffff) + 17u + udp_len;
        std::uint16_t s = inet_checksum(byte_view(out).subspan(udp_at), pseudo);
        if (s == 0)
            s = 0xffff; // 0 means "no checksum" in UDP over IPv4
        out[udp_at + 6] = static_cast<std::uint8_t>(s >> 8);
        out[udp_at + 7] = static_cast<std::uint8_t>(s);
    }
    return out;
}

tl::expected<udp_datagram, std::string> parse_udp_frame(byte_view frame) {
    if (frame.size() < 14 + 20 + 8)
        return tl::unexpected(std::string("short frame"));
    if (get_u16(frame, 12) != 0x0800)
        return tl::unexpected(std::string("not IPv4"));
    udp_datagram d;
    for (std::size_t i = 0; i < 6; ++i) {
        d.eth_dst.bytes[i] = frame[i];
        d.eth_src.bytes[i] = frame[6 + i];
    }
    const byte_view ip = frame.subspan(14);
    if ((ip[0] >> 4) != 4)
        return tl::unexpected(std::string("bad IP version"));
    const std::size_t ihl = std::size_t{ip[0] & 0x0fu} * 4;
    const std::size_t total = get_u16(ip, 2);
    if (ihl < 20 || total < ihl + 8 || total > ip.size())
        return tl::unexpected(std::string("bad IP lengths"));
    if ((get_u16(ip, 6) & 0x3fff) != 0)
        return tl::unexpected(std::string("IP fragment"));
    if (ip[9] != 17)
        return tl::unexpected(std::string("not UDP"));
    d.ttl = ip[8];
    d.src.value = get_u32(ip, 12);
    d.dst.value = get_u32(ip, 16);
    const byte_view udp = ip.subspan(ihl, total - ihl);
    const std::size_t udp_len = get_u16(udp, 4);
    if (udp_len < 8 || udp_len > udp.size())
        return tl::unexpected(std::string("bad UDP length"));
    d.src_port = get_u16(udp, 0);
    d.dst_port = get_u16(udp, 2);
    d.payload = udp.subspan(8, udp_len - 8);
    return d;
}

} // namespace netbootd::emu
