#include "netbootd/core/registry.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <set>

#include "netbootd/core/range.hpp"

namespace netbootd {

registry::registry(cluster_config cfg) : cfg_(std::move(cfg)) {
    std::sort(cfg_.nodes.begin(), cfg_.nodes.end(),
              [](const node& a, const node& b) { return a.position < b.position; });
    const auto n = cfg_.nodes.size();
    by_mac_.reserve(n);
    by_ip_.reserve(n);
    by_hostname_.reserve(n);
    by_position_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto& nd = cfg_.nodes[i];
        by_mac_.emplace(nd.mac, i);
        if (nd.serial)
            by_serial_.emplace(*nd.serial, i);
        by_ip_.emplace(nd.ip, i);
        by_hostname_.emplace(nd.hostname, i);
        by_position_.emplace(nd.position, i);
        if (!nd.tftp_prefix.empty()) {
            by_tftp_prefix_.emplace(nd.tftp_prefix, i);
            tftp_prefix_lengths_.push_back(nd.tftp_prefix.size());
        }
    }
    std::sort(tftp_prefix_lengths_.begin(), tftp_prefix_lengths_.end(), std::greater<>());
    tftp_prefix_lengths_.erase(
        std::unique(tftp_prefix_lengths_.begin(), tftp_prefix_lengths_.end()),
        tftp_prefix_lengths_.end());
}

namespace {
template <typename Map, typename Key>
const node* find_in(const Map& m, const Key& k, const std::vector<node>& nodes) {
    auto it = m.find(k);
    return it == m.end() ? nullptr : &nodes[it->second];
}
} // namespace

const node* registry::by_mac(const mac_address& mac) const {
    return find_in(by_mac_, mac, cfg_.nodes);
}
const node* registry::by_serial(std::uint32_t s) const {
    return find_in(by_serial_, s, cfg_.nodes);
}
const node* registry::by_ip(ipv4_address ip) const {
    return find_in(by_ip_, ip, cfg_.nodes);
}
const node* registry::by_hostname(std::string_view h) const {
    return find_in(by_hostname_, std::string(h), cfg_.nodes);
}
const node* registry::by_position(int p) const {
    return find_in(by_position_, p, cfg_.nodes);
}

const node* registry::by_tftp_prefix(std::string_view prefix) const {
    auto it = by_tftp_prefix_.find(prefix);
    return it == by_tftp_prefix_.end() ? nullptr : &cfg_.nodes[it->second];
}

const node* registry::match_tftp_prefix(std::string_view requested) const {
    for (auto len : tftp_prefix_lengths_) {
        if (len > requested.size())
            continue;
        if (auto* n = by_tftp_prefix(requested.substr(0, len)))
            return n;
    }
    return nullptr;
}

tl::expected<std::vector<const node*>, std::string> registry::select(std::string_view expr) const {
    std::set<int> chosen;
    if (expr == "all") {
        for (const auto& n : cfg_.nodes)
            chosen.insert(n.position);
    } else {
        for (auto item : split_top_level(expr)) {
            if (item.empty())
                return tl::unexpected(fmt::format("empty item in '{}'", std::string(expr)));
            // Positions: digits and dashes only.
            if (item.find_first_not_of("0123456789-") == std::string_view::npos) {
                auto ps = parse_positions(item);
                if (!ps)
                    return tl::unexpected(ps.error());
                for (int p : *ps) {
                    if (!by_position(p))
                        return tl::unexpected(fmt::format("no node at position {}", p));
                    chosen.insert(p);
                }
                continue;
            }
            if (auto mac = mac_address::parse(item)) {
                auto* n = by_mac(*mac);
                if (!n)
                    return tl::unexpected(fmt::format("no node has MAC {}", mac->to_string()));
                chosen.insert(n->position);
                continue;
            }
            auto names = expand_pattern(item);
            if (!names)
                return tl::unexpected(names.error());
            for (const auto& name : *names) {
                const node* n = by_hostname(name);
                if (!n)
                    if (auto ip = ipv4_address::parse(name))
                        n = by_ip(*ip);
                if (!n)
                    if (auto s = parse_serial(name))
                        n = by_serial(*s);
                if (!n)
                    return tl::unexpected(fmt::format(
                        "'{}' matches no node (not a hostname, IP, MAC, serial or position)",
                        name));
                chosen.insert(n->position);
            }
        }
    }
    std::vector<const node*> out;
    out.reserve(chosen.size());
    for (int p : chosen)
        out.push_back(by_position(p));
    return out;
}

} // namespace netbootd
