#include "netbootd/emu/dhcp_reply.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace netbootd::emu {

const dhcp_option* dhcp_reply::find(std::uint8_t code) const {
    for (const auto& o : options)
        if (o.code == code)
            return &o;
    return nullptr;
}

std::optional<std::uint8_t> dhcp_reply::message_type() const {
    const auto* o = find(53);
    if (!o || o->data.size() != 1)
        return std::nullopt;
    return o->data[0];
}

std::optional<ipv4_address> dhcp_reply::ip_option(std::uint8_t code) const {
    const auto* o = find(code);
    if (!o || o->data.size() < 4)
        return std::nullopt;
    return ipv4_address{get_u32(o->data, 0)};
}

tl::expected<dhcp_reply, std::string> parse_reply(byte_view p) {
    if (p.size() < 240)
        return tl::unexpected(fmt::format("short BOOTP payload ({} bytes)", p.size()));
    if (get_u32(p, 236) != 0x63825363)
        return tl::unexpected(std::string("no DHCP magic cookie"));
    dhcp_reply r;
    r.length = p.size();
    r.op = p[0];
    r.htype = p[1];
    r.hlen = p[2];
    r.hops = p[3];
    r.xid = get_u32(p, 4);
    r.flags = get_u16(p, 10);
    r.ciaddr.value = get_u32(p, 12);
    r.yiaddr.value = get_u32(p, 16);
    r.siaddr.value = get_u32(p, 20);
    r.giaddr.value = get_u32(p, 24);
    std::copy_n(p.begin() + 28, 16, r.chaddr.begin());
    std::size_t at = 240;
    bool pad_pending = false; // PADs count as "between options" only if an option or END follows
    while (at < p.size()) {
        const std::uint8_t code = p[at];
        if (code == 0) {
            pad_pending = true;
            ++at;
            continue;
        }
        if (pad_pending)
            r.pad_between_options = true;
        if (code == 255) {
            r.has_end = true;
            break;
        }
        if (at + 2 > p.size())
            return tl::unexpected(fmt::format("option {} has no length byte", code));
        const std::size_t len = p[at + 1];
        if (at + 2 + len > p.size())
            return tl::unexpected(fmt::format("option {} overruns the packet", code));
        r.options.push_back({code, bytes(p.begin() + static_cast<std::ptrdiff_t>(at + 2),
                                         p.begin() + static_cast<std::ptrdiff_t>(at + 2 + len))});
        at += 2 + len;
    }
    return r;
}

std::optional<std::string> reject_reason(const dhcp_reply& r, const accept_rules& rules) {
    if (r.op != 2)
        return fmt::format("op {} is not BOOTREPLY", r.op);
    if (r.xid != rules.xid)
        return fmt::format("xid {:#010x} is not ours ({:#010x})", r.xid, rules.xid);
    if (!std::equal(rules.mac.bytes.begin(), rules.mac.bytes.end(), r.chaddr.begin()))
        return std::string("chaddr is not our MAC");
    if (!r.message_type())
        return std::string("no option 53");
    if (!rules.allow_pad && r.pad_between_options)
        return std::string("option 0 padding between options (legacy Pi 4, Q16)");
    if (rules.reject_hops && r.hops != 0)
        return fmt::format("hops {} != 0 (3B ROM relay bug, Q8)", r.hops);
    return std::nullopt;
}

bool opt60_is_pxeclient(const dhcp_reply& r) {
    const auto* o = r.find(60);
    static constexpr std::string_view want = "PXEClient";
    return o && o->data.size() == want.size() &&
           std::equal(want.begin(), want.end(), o->data.begin());
}

namespace {

bool contains(byte_view hay, std::string_view needle) {
    if (needle.empty())
        return true;
    return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                       [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); }) !=
           hay.end();
}

} // namespace

bool menu_matches(byte_view opt43, std::string_view text) {
    bool found = false;
    std::size_t at = 0;
    while (at < opt43.size()) {
        const std::uint8_t code = opt43[at];
        if (code == 255)
            return found;
        if (code == 0) {
            ++at;
            continue;
        }
        if (at + 2 > opt43.size())
            return false;
        const std::size_t len = opt43[at + 1];
        if (at + 2 + len > opt43.size())
            return false;
        if (code == 9) {
            // Boot menu items: type (2 bytes), description length (1), description.
            const byte_view menu = opt43.subspan(at + 2, len);
            std::size_t i = 0;
            while (i + 3 <= menu.size()) {
                const std::size_t dlen = menu[i + 2];
                if (i + 3 + dlen > menu.size())
                    return false;
                if (contains(menu.subspan(i + 3, dlen), text))
                    found = true;
                i += 3 + dlen;
            }
        }
        at += 2 + len;
    }
    return false; // no END inside option 43
}

bool menu_matches_3b_rom(byte_view opt43, std::string_view text) {
    if (opt43.size() < text.size() + 3)
        return false;
    const std::size_t last = opt43.size() - text.size() - 3;
    for (std::size_t off = 0; off <= last; ++off)
        if (std::equal(text.begin(), text.end(), opt43.begin() + static_cast<std::ptrdiff_t>(off),
                       [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; }))
            return true;
    return false;
}

bool is_pxe(const dhcp_reply& r, pxe_rule rule, bool require_opt60) {
    if (require_opt60 && !opt60_is_pxeclient(r))
        return false;
    const auto* o43 = r.find(43);
    if (!o43)
        return false;
    return rule == pxe_rule::menu ? menu_matches(o43->data) : menu_matches_3b_rom(o43->data);
}

namespace {

bytes make_opt43(std::string_view menu) {
    bytes b{0x06, 0x01, 0x03, 0x0a, 0x04, 0x00, 0x50, 0x58, 0x45, 0x09};
    b.push_back(static_cast<std::uint8_t>(menu.size() + 3));
    b.push_back(0x00);
    b.push_back(0x00);
    b.push_back(static_cast<std::uint8_t>(menu.size()));
    put_text(b, menu);
    b.push_back(0xff);
    return b;
}

} // namespace

const bytes& expected_opt43_r4() {
    static const bytes b = make_opt43("Raspberry Pi Boot");
    return b;
}

const bytes& expected_opt43_r5() {
    static const bytes b = make_opt43("Raspberry Pi Boot   ");
    return b;
}

std::string to_hex(byte_view b) {
    std::string s;
    s.reserve(b.size() * 3);
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (i)
            s += ' ';
        s += fmt::format("{:02x}", b[i]);
    }
    return s;
}

} // namespace netbootd::emu
