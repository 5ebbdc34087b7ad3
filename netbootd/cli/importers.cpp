#include "netbootd/cli/importers.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "netbootd/core/duration.hpp"

namespace netbootd::cli {
namespace {

std::string_view trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos)
        return {};
    const auto e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

std::string_view strip_comment(std::string_view line) {
    const auto hash = line.find('#');
    return trim(hash == std::string_view::npos ? line : line.substr(0, hash));
}

std::vector<std::string_view> split(std::string_view s, std::string_view seps) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = s.find_first_not_of(seps, i);
        if (b == std::string_view::npos)
            break;
        const auto e = s.find_first_of(seps, b);
        out.push_back(s.substr(b, e == std::string_view::npos ? s.npos : e - b));
        i = e == std::string_view::npos ? s.size() : e;
    }
    return out;
}

std::optional<int> trailing_number(std::string_view name) {
    std::size_t i = name.size();
    while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
        --i;
    if (i == name.size() || name.size() - i > 7)
        return std::nullopt;
    int v = 0;
    std::from_chars(name.data() + i, name.data() + name.size(), v);
    return v > 0 ? std::optional<int>(v) : std::nullopt;
}

bool is_lease_time(std::string_view s) {
    return s == "infinite" || parse_duration(s).has_value();
}

bool valid_hostname(std::string_view h) {
    if (h.empty() || h.size() > 63 || h.front() == '-' || h.back() == '-')
        return false;
    return std::all_of(h.begin(), h.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
    });
}

} // namespace

import_result import_nodes(std::string_view text, const std::string& name, import_format format) {
    import_result r;
    auto error = [&](int line, std::string msg) {
        r.errors.push_back(diagnostic{name, line, 1, std::move(msg)});
    };
    int line_no = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        const auto nl = text.find('\n', pos);
        const auto raw = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
        ++line_no;
        auto line = strip_comment(raw);
        if (line.empty()) {
            continue;
        }
        imported_node n;
        n.line = line_no;
        bool have_mac = false;
        if (format == import_format::dnsmasq) {
            // dhcp-host=[MAC][,id:..][,set:..][,IP][,HOSTNAME][,LEASE][,ignore]; options in any
            // order.
            constexpr std::string_view key = "dhcp-host=";
            if (line.substr(0, key.size()) != key) {
                ++r.skipped;
                continue;
            }
            bool ignore = false;
            for (auto field : split(line.substr(key.size()), ",")) {
                field = trim(field);
                if (auto m = mac_address::parse(field)) {
                    if (have_mac) {
                        error(line_no,
                              fmt::format(
                                  "several MACs on one dhcp-host line ('{}'); import one per node",
                                  std::string(field)));
                        continue;
                    }
                    n.mac = *m;
                    have_mac = true;
                } else if (auto a = ipv4_address::parse(field)) {
                    n.ip = *a;
                } else if (field.starts_with("id:") || field.starts_with("set:") ||
                           field.starts_with("tag:")) {
                    continue;
                } else if (field == "ignore") {
                    ignore = true;
                } else if (is_lease_time(field)) {
                    continue;
                } else if (valid_hostname(field)) {
                    n.hostname = std::string(field);
                } else {
                    error(line_no,
                          fmt::format("cannot read '{}' in a dhcp-host line", std::string(field)));
                }
            }
            if (ignore) {
                ++r.skipped;
                continue;
            }
            if (!have_mac) {
                error(line_no, "dhcp-host line has no MAC address (client-id hosts cannot be "
                               "netbooted by MAC)");
                continue;
            }
        } else if (format == import_format::table) {
            auto cols = split(line, " \t");
            if (cols.size() < 2) {
                error(line_no, fmt::format("expected 'POSITION MAC', got '{}'", std::string(line)));
                continue;
            }
            int p = 0;
            auto [ptr, ec] = std::from_chars(cols[0].data(), cols[0].data() + cols[0].size(), p);
            auto m = mac_address::parse(cols[1]);
            if (ec != std::errc{} || ptr != cols[0].data() + cols[0].size() || p < 1) {
                error(line_no,
                      fmt::format("'{}' is not a position (1, 2, ...)", std::string(cols[0])));
                continue;
            }
            if (!m) {
                error(line_no, fmt::format("'{}' is not a MAC address", std::string(cols[1])));
                continue;
            }
            n.position = p;
            n.position_from = "column";
            n.mac = *m;
            have_mac = true;
        } else {
            // /etc/ethers: MAC then hostname or IP.
            auto cols = split(line, " \t");
            if (cols.size() < 2) {
                error(line_no,
                      fmt::format("expected 'MAC HOSTNAME-or-IP', got '{}'", std::string(line)));
                continue;
            }
            auto m = mac_address::parse(cols[0]);
            if (!m) {
                error(line_no, fmt::format("'{}' is not a MAC address", std::string(cols[0])));
                continue;
            }
            n.mac = *m;
            have_mac = true;
            if (auto a = ipv4_address::parse(cols[1]))
                n.ip = *a;
            else if (valid_hostname(cols[1]))
                n.hostname = std::string(cols[1]);
            else {
                error(line_no, fmt::format("'{}' is neither a hostname nor an IPv4 address",
                                           std::string(cols[1])));
                continue;
            }
        }
        if (n.position == 0 && n.hostname) {
            if (auto p = trailing_number(*n.hostname)) {
                n.position = *p;
                n.position_from = "hostname";
            }
        }
        if (n.position == 0 && n.ip && (n.ip->value & 0xff) != 0) {
            n.position = static_cast<int>(n.ip->value & 0xff);
            n.position_from = "ip";
        }
        r.nodes.push_back(std::move(n));
    }
    // Nodes without a position take the next free one, in file order.
    std::set<int> used;
    for (const auto& n : r.nodes)
        if (n.position > 0)
            used.insert(n.position);
    int next = 1;
    for (auto& n : r.nodes) {
        if (n.position > 0)
            continue;
        while (used.count(next))
            ++next;
        n.position = next;
        n.position_from = "order";
        used.insert(next);
    }
    std::unordered_map<mac_address, int> macs;
    std::unordered_map<int, int> positions;
    for (const auto& n : r.nodes) {
        if (auto [it, ok] = macs.emplace(n.mac, n.line); !ok)
            error(n.line, fmt::format("duplicate MAC {} (first at line {})", n.mac.to_string(),
                                      it->second));
        if (auto [it, ok] = positions.emplace(n.position, n.line); !ok)
            error(n.line, fmt::format("position {} (from the {}) is already taken by line {}",
                                      n.position, n.position_from, it->second));
    }
    std::sort(r.nodes.begin(), r.nodes.end(),
              [](const auto& a, const auto& b) { return a.position < b.position; });
    std::sort(r.errors.begin(), r.errors.end(),
              [](const auto& a, const auto& b) { return a.line < b.line; });
    return r;
}

std::string to_nodes_yaml(const import_result& r, const std::string& source) {
    std::string out = fmt::format("# Imported from {} by netbootctl: {} node{}.\n", source,
                                  r.nodes.size(), r.nodes.size() == 1 ? "" : "s");
    out += "nodes:\n";
    for (const auto& n : r.nodes) {
        out += fmt::format("  - {{ position: {}, mac: \"{}\"", n.position, n.mac.to_string());
        if (n.hostname)
            out += fmt::format(", hostname: {}", *n.hostname);
        if (n.ip)
            out += fmt::format(", ip: {}", n.ip->to_string());
        out += " }";
        if (n.position_from != "column")
            out += fmt::format("  # position from {}", n.position_from);
        out += '\n';
    }
    return out;
}

} // namespace netbootd::cli
