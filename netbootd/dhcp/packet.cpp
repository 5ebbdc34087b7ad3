#include "netbootd/dhcp/packet.hpp"

#include <algorithm>

#include "netbootd/dhcp/options.hpp"

namespace netbootd::dhcp {

std::string_view to_string(message_type t) {
    switch (t) {
    case message_type::discover:
        return "discover";
    case message_type::offer:
        return "offer";
    case message_type::request:
        return "request";
    case message_type::decline:
        return "decline";
    case message_type::ack:
        return "ack";
    case message_type::nak:
        return "nak";
    case message_type::release:
        return "release";
    case message_type::inform:
        return "inform";
    }
    return "unknown";
}

std::string_view to_string(decode_error e) {
    switch (e) {
    case decode_error::truncated_header:
        return "truncated_header";
    case decode_error::too_large:
        return "too_large";
    case decode_error::bad_cookie:
        return "bad_cookie";
    case decode_error::bad_hlen:
        return "bad_hlen";
    case decode_error::option_overrun:
        return "option_overrun";
    case decode_error::bad_overload:
        return "bad_overload";
    }
    return "unknown";
}

const option* packet::find(std::uint8_t code) const {
    for (const auto& o : options)
        if (o.code == code)
            return &o;
    return nullptr;
}

void packet::set(std::uint8_t code, std::vector<std::uint8_t> data) {
    for (auto& o : options)
        if (o.code == code) {
            o.data = std::move(data);
            return;
        }
    options.push_back(option{code, std::move(data)});
}

void packet::set_ip(std::uint8_t code, ipv4_address a) {
    set_u32(code, a.value);
}

void packet::set_u32(std::uint8_t code, std::uint32_t v) {
    set(code, {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
               static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)});
}

void packet::set_text(std::uint8_t code, std::string_view s) {
    set(code, std::vector<std::uint8_t>(s.begin(), s.end()));
}

std::optional<message_type> packet::type() const {
    const auto* o = find(opt::message_type);
    if (!o || o->data.size() != 1 || o->data[0] < 1 || o->data[0] > 8)
        return std::nullopt;
    return static_cast<message_type>(o->data[0]);
}

mac_address packet::mac() const {
    mac_address m;
    std::copy_n(chaddr.begin(), 6, m.bytes.begin());
    return m;
}

std::optional<ipv4_address> packet::ip_option(std::uint8_t code) const {
    const auto* o = find(code);
    if (!o || o->data.size() != 4)
        return std::nullopt;
    return ipv4_address{(std::uint32_t{o->data[0]} << 24) | (std::uint32_t{o->data[1]} << 16) |
                        (std::uint32_t{o->data[2]} << 8) | o->data[3]};
}

std::string packet::text_option(std::uint8_t code) const {
    const auto* o = find(code);
    return o ? std::string(o->data.begin(), o->data.end()) : std::string();
}

namespace {

constexpr std::array<std::uint8_t, 4> cookie = {0x63, 0x82, 0x53, 0x63};

std::uint32_t rd32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           p[3];
}
std::uint16_t rd16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

// Parses one option field into `out`, concatenating repeated codes (RFC 3396). Stops at END or
// at the end of the field; returns false if an option runs past the end.
bool parse_options(std::span<const std::uint8_t> field, std::vector<option>& out,
                   bool allow_overload, std::optional<std::uint8_t>& overload) {
    std::size_t i = 0;
    while (i < field.size()) {
        const auto code = field[i];
        if (code == opt::pad) {
            ++i;
            continue;
        }
        if (code == opt::end)
            return true;
        if (i + 1 >= field.size())
            return false;
        const std::size_t len = field[i + 1];
        if (i + 2 + len > field.size())
            return false;
        const auto* v = field.data() + i + 2;
        i += 2 + len;
        if (code == opt::overload) {
            // Only the main options field may overload sname/file; a 52 inside them would
            // describe a loop and is ignored.
            if (allow_overload && len == 1)
                overload = v[0];
            else if (allow_overload)
                overload = 0; // malformed length: reported as bad_overload
            continue;
        }
        auto it =
            std::find_if(out.begin(), out.end(), [&](const option& o) { return o.code == code; });
        if (it == out.end())
            out.push_back(option{code, std::vector<std::uint8_t>(v, v + len)});
        else
            it->data.insert(it->data.end(), v, v + len);
    }
    return true;
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 24));
    out.push_back(static_cast<std::uint8_t>(v >> 16));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

} // namespace

tl::expected<packet, decode_error> decode(std::span<const std::uint8_t> b) {
    if (b.size() > max_packet_size)
        return tl::unexpected(decode_error::too_large);
    if (b.size() < fixed_header_size + cookie.size())
        return tl::unexpected(decode_error::truncated_header);
    if (!std::equal(cookie.begin(), cookie.end(), b.begin() + fixed_header_size))
        return tl::unexpected(decode_error::bad_cookie);
    packet p;
    const auto* d = b.data();
    p.op = d[0];
    p.htype = d[1];
    p.hlen = d[2];
    p.hops = d[3];
    if (p.hlen > 16)
        return tl::unexpected(decode_error::bad_hlen);
    p.xid = rd32(d + 4);
    p.secs = rd16(d + 8);
    p.flags = rd16(d + 10);
    p.ciaddr.value = rd32(d + 12);
    p.yiaddr.value = rd32(d + 16);
    p.siaddr.value = rd32(d + 20);
    p.giaddr.value = rd32(d + 24);
    std::copy_n(d + 28, 16, p.chaddr.begin());
    std::copy_n(d + 44, 64, p.sname.begin());
    std::copy_n(d + 108, 128, p.file.begin());

    std::optional<std::uint8_t> overload;
    if (!parse_options(b.subspan(fixed_header_size + cookie.size()), p.options, true, overload))
        return tl::unexpected(decode_error::option_overrun);
    if (overload) {
        if (*overload < 1 || *overload > 3)
            return tl::unexpected(decode_error::bad_overload);
        std::optional<std::uint8_t> ignored;
        // RFC 3396 order: options field, then file, then sname. The overloaded fields carry
        // options, not names, so they are cleared in the decoded struct.
        if (*overload & 1) {
            if (!parse_options(std::span<const std::uint8_t>(d + 108, 128), p.options, false,
                               ignored))
                return tl::unexpected(decode_error::option_overrun);
            p.file.fill(0);
        }
        if (*overload & 2) {
            if (!parse_options(std::span<const std::uint8_t>(d + 44, 64), p.options, false,
                               ignored))
                return tl::unexpected(decode_error::option_overrun);
            p.sname.fill(0);
        }
    }
    return p;
}

void encode_to(std::vector<std::uint8_t>& out, const packet& p) {
    const auto start = out.size();
    out.reserve(start + 576);
    out.push_back(p.op);
    out.push_back(p.htype);
    out.push_back(p.hlen);
    out.push_back(p.hops);
    put32(out, p.xid);
    out.push_back(static_cast<std::uint8_t>(p.secs >> 8));
    out.push_back(static_cast<std::uint8_t>(p.secs));
    out.push_back(static_cast<std::uint8_t>(p.flags >> 8));
    out.push_back(static_cast<std::uint8_t>(p.flags));
    put32(out, p.ciaddr.value);
    put32(out, p.yiaddr.value);
    put32(out, p.siaddr.value);
    put32(out, p.giaddr.value);
    out.insert(out.end(), p.chaddr.begin(), p.chaddr.end());
    out.insert(out.end(), p.sname.begin(), p.sname.end());
    out.insert(out.end(), p.file.begin(), p.file.end());
    out.insert(out.end(), cookie.begin(), cookie.end());
    for (const auto& o : p.options) {
        if (o.code == opt::pad || o.code == opt::end)
            continue;
        // RFC 3396: a value longer than 255 bytes goes out as consecutive instances.
        std::size_t off = 0;
        do {
            const auto n = std::min<std::size_t>(255, o.data.size() - off);
            out.push_back(o.code);
            out.push_back(static_cast<std::uint8_t>(n));
            out.insert(out.end(), o.data.begin() + static_cast<std::ptrdiff_t>(off),
                       o.data.begin() + static_cast<std::ptrdiff_t>(off + n));
            off += n;
        } while (off < o.data.size());
    }
    out.push_back(opt::end);
    if (out.size() - start < min_reply_size)
        out.resize(start + min_reply_size, 0);
}

} // namespace netbootd::dhcp
