#include "netbootd/power/enrollment.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "netbootd/core/atomic_file.hpp"
#include "netbootd/core/template.hpp"

namespace netbootd::power {

tl::expected<void, std::string> inventory::bind(const enrolled_node& n) {
    for (const auto& e : nodes_) {
        if (e.position == n.position)
            return tl::unexpected(
                fmt::format("position {} is already bound to {}", n.position, e.mac.to_string()));
        if (e.mac == n.mac)
            return tl::unexpected(fmt::format("MAC {} is already bound to position {}",
                                              n.mac.to_string(), e.position));
        if (n.serial && e.serial == n.serial)
            return tl::unexpected(fmt::format("serial {} is already bound to position {}",
                                              format_serial(*n.serial), e.position));
    }
    auto it = std::lower_bound(nodes_.begin(), nodes_.end(), n.position,
                               [](const enrolled_node& a, int p) { return a.position < p; });
    nodes_.insert(it, n);
    return {};
}

const enrolled_node* inventory::by_position(int position) const {
    for (const auto& e : nodes_)
        if (e.position == position)
            return &e;
    return nullptr;
}

const enrolled_node* inventory::by_mac(const mac_address& mac) const {
    for (const auto& e : nodes_)
        if (e.mac == mac)
            return &e;
    return nullptr;
}

std::filesystem::path enrollment_path(const std::filesystem::path& config) {
    // The same file load_config merges into the cluster's nodes.
    return enrolled_nodes_path(config);
}

std::string format_enrollment(const inventory& inv) {
    std::string out =
        "# Written by `netbootctl enroll` (position -> MAC and serial, in rack order).\n"
        "# Rewritten atomically after every binding; edit only while no enrollment runs.\n"
        "nodes:\n";
    for (const auto& n : inv.nodes()) {
        out += fmt::format("  - {{ position: {}, mac: \"{}\"", n.position, n.mac.to_string());
        if (n.serial)
            out += fmt::format(", serial: \"{}\"", format_serial(*n.serial));
        out += " }\n";
    }
    return out;
}

tl::expected<inventory, std::string> parse_enrollment(const std::string& text,
                                                      const std::string& name) {
    inventory inv;
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        return tl::unexpected(fmt::format("{}:{}: {}", name, e.mark.line + 1, e.msg));
    }
    if (root.IsNull())
        return inv;
    auto at = [&](const YAML::Node& n) { return fmt::format("{}:{}", name, n.Mark().line + 1); };
    if (!root.IsMap() || !root["nodes"] || !(root["nodes"].IsSequence() || root["nodes"].IsNull()))
        return tl::unexpected(fmt::format("{}: expected a 'nodes:' list", name));
    for (const auto& item : root["nodes"]) {
        if (!item.IsMap() || !item["position"] || !item["mac"])
            return tl::unexpected(
                fmt::format("{}: each node needs 'position' and 'mac'", at(item)));
        enrolled_node n;
        try {
            n.position = item["position"].as<int>();
        } catch (const YAML::Exception&) {
            return tl::unexpected(fmt::format("{}: 'position' must be a number", at(item)));
        }
        auto mac = mac_address::parse(item["mac"].Scalar());
        if (!mac)
            return tl::unexpected(
                fmt::format("{}: malformed MAC '{}'", at(item), item["mac"].Scalar()));
        n.mac = *mac;
        if (item["serial"]) {
            auto s = parse_serial(item["serial"].Scalar());
            if (!s)
                return tl::unexpected(
                    fmt::format("{}: malformed serial '{}'", at(item), item["serial"].Scalar()));
            n.serial = *s;
        }
        if (auto ok = inv.bind(n); !ok)
            return tl::unexpected(fmt::format("{}: {}", at(item), ok.error()));
    }
    return inv;
}

tl::expected<inventory, std::string> load_enrollment(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        if (!std::filesystem::exists(file))
            return inventory{};
        return tl::unexpected(fmt::format("{}: cannot read", file.string()));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse_enrollment(ss.str(), file.string());
}

std::error_code save_enrollment(const std::filesystem::path& file, const inventory& inv) {
    return write_file_atomic(file, format_enrollment(inv));
}

std::string_view to_string(slot_result r) {
    switch (r) {
    case slot_result::bound:
        return "bound";
    case slot_result::already_bound:
        return "already bound";
    case slot_result::nothing_appeared:
        return "nothing appeared";
    case slot_result::power_failed:
        return "power failed";
    case slot_result::save_failed:
        return "save failed";
    case slot_result::no_power:
        return "no power binding";
    }
    return "?";
}

tl::expected<node, std::string> slot_node(const registry& reg, int position) {
    if (const node* n = reg.by_position(position)) {
        if (!n->power)
            return tl::unexpected(fmt::format("{} has no power binding", n->hostname));
        return *n;
    }
    const auto& d = reg.config().defaults;
    node n;
    n.position = position;
    template_vars vars;
    vars["position"] = std::int64_t{position};
    auto host = render_template(d.hostname, vars);
    n.hostname = host ? *host : fmt::format("slot{}", position);
    vars["hostname"] = n.hostname;
    if (!d.power)
        return tl::unexpected(fmt::format(
            "position {} is not in the config and 'defaults.power' is not set", position));
    n.power = d.power;
    auto ch = render_template(d.power->channel, vars);
    if (!ch)
        return tl::unexpected(fmt::format("defaults.power.channel: {}", ch.error().message));
    n.power->channel = *ch;
    return n;
}

namespace {

void publish(enroll_context& ctx, const node& n, const std::string& kind, severity level,
             nlohmann::json fields) {
    if (ctx.events == nullptr)
        return;
    event e;
    e.position = n.position;
    e.source = "power";
    e.kind = kind;
    e.level = level;
    e.fields = std::move(fields);
    ctx.events->publish(std::move(e));
}

} // namespace

std::vector<slot_outcome> enroll(const std::vector<int>& positions, enroll_context& ctx,
                                 const enroll_options& opt) {
    std::vector<slot_outcome> out;
    auto report = [&](slot_outcome o) {
        out.push_back(std::move(o));
        if (ctx.progress)
            ctx.progress(out.back());
    };
    auto loaded = load_enrollment(ctx.file);
    if (!loaded) {
        for (int p : positions)
            report({p, slot_result::save_failed, std::nullopt, loaded.error()});
        return out;
    }
    inventory inv = std::move(*loaded);
    auto known_mac = [&](const mac_address& m) {
        return inv.by_mac(m) != nullptr || ctx.reg.by_mac(m) != nullptr;
    };
    auto known_serial = [&](std::uint32_t s) {
        if (ctx.reg.by_serial(s) != nullptr)
            return true;
        return std::any_of(inv.nodes().begin(), inv.nodes().end(),
                           [&](const enrolled_node& e) { return e.serial == s; });
    };
    // A slot counts as bound when the file has it or the config names a real MAC for it.
    auto bound = [&](int p) {
        return inv.by_position(p) != nullptr || ctx.reg.by_position(p) != nullptr;
    };

    // Only one board may be powered while we listen: switch the pending slots off first.
    std::vector<std::pair<int, node>> pending;
    for (int p : positions) {
        if (bound(p)) {
            const auto* e = inv.by_position(p);
            report({p, slot_result::already_bound, e ? std::optional(*e) : std::nullopt,
                    e ? fmt::format("already bound to {}", e->mac.to_string())
                      : "already in the config"});
            continue;
        }
        auto n = slot_node(ctx.reg, p);
        if (!n) {
            report({p, slot_result::no_power, std::nullopt, n.error()});
            continue;
        }
        pending.emplace_back(p, std::move(*n));
    }
    for (auto& [p, n] : pending)
        (void)ctx.exec.perform(power_action::off, n);

    for (auto& [p, n] : pending) {
        auto on = ctx.exec.perform(power_action::on, n);
        if (!on.ok) {
            publish(ctx, n, "power.failed", severity::error,
                    {{"action", "on"}, {"error", on.error}});
            report({p, slot_result::power_failed, std::nullopt, on.error});
            continue;
        }
        publish(ctx, n, "power.on", severity::info, {{"state", "on"}, {"enroll", true}});
        const auto deadline = ctx.now() + opt.timeout;
        std::optional<unknown_client> got;
        std::vector<std::string> skipped;
        // Bounded by the deadline even when an already-bound board keeps asking.
        while (!got && ctx.now() < deadline) {
            auto c = ctx.next_unknown(deadline);
            if (!c)
                break;
            // A board bound a moment ago keeps asking until the daemon reloads: never take it
            // twice.
            if (known_mac(c->mac) || (c->serial && known_serial(*c->serial))) {
                skipped.push_back(c->mac.to_string());
                continue;
            }
            got = c;
        }
        if (got) {
            enrolled_node e{p, got->mac, got->serial};
            if (auto ok = inv.bind(e); !ok) {
                report({p, slot_result::save_failed, e, ok.error()});
            } else if (auto ec = save_enrollment(ctx.file, inv)) {
                report({p, slot_result::save_failed, e,
                        fmt::format("{}: {}", ctx.file.string(), ec.message())});
                break; // nothing later could be saved either
            } else {
                nlohmann::json f{{"mac", e.mac.to_string()}};
                f["serial"] =
                    e.serial ? nlohmann::json(format_serial(*e.serial)) : nlohmann::json(nullptr);
                publish(ctx, n, "power.enrolled", severity::info, std::move(f));
                report({p, slot_result::bound, e, ""});
            }
        } else {
            publish(ctx, n, "power.enroll_empty", severity::warning,
                    {{"timeout_ms", opt.timeout.count()}});
            report({p, slot_result::nothing_appeared, std::nullopt,
                    skipped.empty()
                        ? fmt::format("no unknown board asked within {} ms", opt.timeout.count())
                        : fmt::format("only already-bound boards asked ({})",
                                      fmt::join(skipped, ", "))});
        }
        if (opt.power_off_after)
            (void)ctx.exec.perform(power_action::off, n);
    }
    return out;
}

} // namespace netbootd::power
