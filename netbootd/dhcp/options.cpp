#include "netbootd/dhcp/options.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace netbootd::dhcp {

namespace {

std::vector<option_def> make_table() {
    using t = option_type;
    std::vector<option_def> v = {
        {"subnet-mask", opt::subnet_mask, t::ip, false},
        {"router", opt::router, t::ip, true},
        {"dns-server", opt::dns, t::ip, true},
        {"hostname", opt::hostname, t::text, false},
        {"domain-name", opt::domain_name, t::text, false},
        {"root-path", opt::root_path, t::text, false},
        {"interface-mtu", 26, t::u16, false},
        {"broadcast-address", opt::broadcast, t::ip, false},
        {"ntp-server", opt::ntp, t::ip, true},
        {"vendor-specific", opt::vendor_specific, t::bytes, false},
        {"requested-ip", opt::requested_ip, t::ip, false},
        {"lease-time", opt::lease_time, t::u32, false},
        {"overload", opt::overload, t::u8, false},
        {"message-type", opt::message_type, t::u8, false},
        {"server-id", opt::server_id, t::ip, false},
        {"parameter-list", opt::parameter_list, t::u8, true},
        {"message", opt::message, t::text, false},
        {"max-message-size", opt::max_message_size, t::u16, false},
        {"renewal-time", opt::renewal_time, t::u32, false},
        {"rebinding-time", opt::rebinding_time, t::u32, false},
        {"vendor-class", opt::vendor_class, t::text, false},
        {"client-id", opt::client_id, t::bytes, false},
        {"tftp-server", opt::tftp_server, t::text, false},
        {"bootfile", opt::bootfile, t::text, false},
        {"user-class", opt::user_class, t::bytes, false},
        {"client-arch", opt::client_arch, t::u16, true},
        {"client-ndi", opt::client_ndi, t::bytes, false},
        {"client-guid", opt::client_guid, t::bytes, false},
        {"ipxe-encap", opt::ipxe_encap, t::bytes, false},
    };
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.code < b.code; });
    return v;
}

std::string hex(const std::vector<std::uint8_t>& d) {
    std::string out;
    for (std::size_t i = 0; i < d.size(); ++i)
        fmt::format_to(std::back_inserter(out), "{}{:02x}", i ? " " : "", d[i]);
    return out;
}

std::size_t item_size(option_type t) {
    switch (t) {
    case option_type::ip:
    case option_type::u32:
        return 4;
    case option_type::u16:
        return 2;
    case option_type::u8:
        return 1;
    default:
        return 0;
    }
}

} // namespace

const std::vector<option_def>& option_table() {
    static const std::vector<option_def> table = make_table();
    return table;
}

const option_def* find_option(std::uint8_t code) {
    const auto& t = option_table();
    auto it = std::lower_bound(t.begin(), t.end(), code,
                               [](const option_def& d, std::uint8_t c) { return d.code < c; });
    return it != t.end() && it->code == code ? &*it : nullptr;
}

const option_def* find_option(std::string_view name) {
    for (const auto& d : option_table())
        if (d.name == name)
            return &d;
    return nullptr;
}

std::string format_option(std::uint8_t code, const std::vector<std::uint8_t>& d) {
    const auto* def = find_option(code);
    if (!def)
        return hex(d);
    if (def->type == option_type::text) {
        std::string s;
        for (auto c : d)
            s.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '.');
        return s;
    }
    const auto n = item_size(def->type);
    if (n == 0 || d.empty() || d.size() % n != 0 || (!def->array && d.size() != n))
        return hex(d);
    std::string out;
    for (std::size_t i = 0; i < d.size(); i += n) {
        if (i)
            out += ", ";
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < n; ++k)
            v = (v << 8) | d[i + k];
        if (def->type == option_type::ip)
            fmt::format_to(std::back_inserter(out), "{}.{}.{}.{}", v >> 24, (v >> 16) & 0xff,
                           (v >> 8) & 0xff, v & 0xff);
        else
            fmt::format_to(std::back_inserter(out), "{}", v);
    }
    return out;
}

} // namespace netbootd::dhcp
