#include "netbootd/core/config.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "netbootd/core/duration.hpp"
#include "netbootd/core/template.hpp"

namespace netbootd {

std::string diagnostic::to_string() const {
    if (line > 0)
        return fmt::format("{}:{}:{}: {}", file, line, column, message);
    return fmt::format("{}: {}", file, message);
}

namespace {

std::string join_diagnostics(const std::vector<diagnostic>& diags) {
    std::string out;
    for (const auto& d : diags) {
        if (!out.empty())
            out += '\n';
        out += d.to_string();
    }
    return out;
}

} // namespace

config_error::config_error(std::vector<diagnostic> diags)
    : std::runtime_error(join_diagnostics(diags)), diags_(std::move(diags)) {}

std::string cluster_config::summary() const {
    std::size_t nodes_with_power = 0;
    for (const auto& n : nodes)
        if (n.power)
            ++nodes_with_power;
    return fmt::format("{}: {} node{}{}, {} power driver{}, dhcp {}, tftp {}, nfs {}", cluster.name,
                       nodes.size(), nodes.size() == 1 ? "" : "s",
                       enrolled_count > 0 ? fmt::format(" ({} enrolled)", enrolled_count) : "",
                       power.drivers.size(), power.drivers.size() == 1 ? "" : "s",
                       !dhcp.enabled                  ? "off"
                       : dhcp.mode == dhcp_mode::full ? "full"
                                                      : "proxy",
                       tftp.enabled ? "on" : "off",
                       nfs.backend == nfs_backend::kernel    ? "kernel"
                       : nfs.backend == nfs_backend::ganesha ? "ganesha"
                                                             : "none");
}

namespace {

// Collects diagnostics while walking the YAML tree. Every accessor checks the node's type and
// records a located error instead of throwing, so one pass reports every problem.
class reader {
  public:
    reader(std::string file, std::filesystem::path base)
        : file_(std::move(file)), base_(std::move(base)) {}

    std::vector<diagnostic> diags;

    void error(const YAML::Node& at, std::string message) {
        const auto mark = at.Mark();
        error_at(mark.line >= 0 ? mark.line + 1 : 0, mark.column >= 0 ? mark.column + 1 : 0,
                 std::move(message));
    }
    void error_at(int line, int column, std::string message) {
        diags.push_back(diagnostic{file_, line, column, std::move(message)});
    }

    // Checks that `map` is a mapping with only `allowed` keys; reports each unknown key at its
    // own position so a typo is never silently ignored.
    bool check_map(const YAML::Node& map, std::string_view where,
                   std::initializer_list<std::string_view> allowed) {
        if (!map.IsMap()) {
            error(map, fmt::format("'{}' must be a mapping of keys to values", where));
            return false;
        }
        for (const auto& kv : map) {
            const auto key = kv.first.as<std::string>();
            bool ok = false;
            for (auto a : allowed)
                ok = ok || key == a;
            if (!ok) {
                std::string list;
                for (auto a : allowed)
                    list += (list.empty() ? "" : ", ") + std::string(a);
                error(kv.first,
                      fmt::format("unknown key '{}' in '{}' (known keys: {})", key, where, list));
            }
        }
        return true;
    }

    std::optional<std::string> scalar(const YAML::Node& n, std::string_view what) {
        if (!n.IsScalar()) {
            error(n, fmt::format("'{}' must be a single value", what));
            return std::nullopt;
        }
        return n.Scalar();
    }

    template <typename T>
    std::optional<T> number(const YAML::Node& n, std::string_view what, T lo, T hi) {
        auto s = scalar(n, what);
        if (!s)
            return std::nullopt;
        try {
            std::size_t used = 0;
            long long v = std::stoll(*s, &used, 10);
            if (used != s->size())
                throw std::invalid_argument("trailing");
            if (v < static_cast<long long>(lo) || v > static_cast<long long>(hi)) {
                error(n, fmt::format("'{}' is {}; it must be between {} and {}", what, *s, lo, hi));
                return std::nullopt;
            }
            return static_cast<T>(v);
        } catch (const std::exception&) {
            error(n, fmt::format("'{}' must be a whole number, not '{}'", what, *s));
            return std::nullopt;
        }
    }

    std::optional<bool> boolean(const YAML::Node& n, std::string_view what) {
        auto s = scalar(n, what);
        if (!s)
            return std::nullopt;
        if (*s == "true" || *s == "yes" || *s == "on")
            return true;
        if (*s == "false" || *s == "no" || *s == "off")
            return false;
        error(n, fmt::format("'{}' must be true or false, not '{}'", what, *s));
        return std::nullopt;
    }

    std::optional<ipv4_address> ip(const YAML::Node& n, std::string_view what) {
        auto s = scalar(n, what);
        if (!s)
            return std::nullopt;
        auto a = ipv4_address::parse(*s);
        if (!a)
            error(n, fmt::format("'{}' is not an IPv4 address: '{}'", what, *s));
        return a;
    }

    std::vector<ipv4_address> ip_list(const YAML::Node& n, std::string_view what) {
        std::vector<ipv4_address> out;
        if (n.IsScalar()) {
            if (auto a = ip(n, what))
                out.push_back(*a);
        } else if (n.IsSequence()) {
            for (const auto& item : n)
                if (auto a = ip(item, what))
                    out.push_back(*a);
        } else {
            error(n, fmt::format("'{}' must be an address or a list of addresses", what));
        }
        return out;
    }

    std::optional<std::filesystem::path> path(const YAML::Node& n, std::string_view what) {
        auto s = scalar(n, what);
        if (!s)
            return std::nullopt;
        if (s->empty())
            return std::filesystem::path{};
        std::filesystem::path p(*s);
        return p.is_absolute() ? p : (base_ / p).lexically_normal();
    }

    template <typename Duration>
    std::optional<Duration> duration(const YAML::Node& n, std::string_view what) {
        auto s = scalar(n, what);
        if (!s)
            return std::nullopt;
        auto d = parse_duration(*s);
        if (!d) {
            error(n, fmt::format("'{}' is not a duration like 500ms, 2s, 12h: '{}'", what, *s));
            return std::nullopt;
        }
        return std::chrono::duration_cast<Duration>(*d);
    }

    template <typename E>
    std::optional<E> choice(const YAML::Node& n, std::string_view what,
                            std::initializer_list<std::pair<std::string_view, E>> options) {
        auto s = scalar(n, what);
        if (!s)
            return std::nullopt;
        std::string list;
        for (const auto& [name, value] : options) {
            if (*s == name)
                return value;
            list += (list.empty() ? "" : ", ") + std::string(name);
        }
        error(n, fmt::format("'{}' must be one of {}, not '{}'", what, list, *s));
        return std::nullopt;
    }

    const std::string& file() const { return file_; }
    /// Later diagnostics name `file` (the enrolled nodes file is read with the same reader).
    void set_file(std::string file) { file_ = std::move(file); }
    void error_in(const std::string& file, int line, int column, std::string message) {
        diags.push_back(diagnostic{file, line, column, std::move(message)});
    }

  private:
    std::string file_;
    std::filesystem::path base_;
};

int line_of(const YAML::Node& n) {
    return n.Mark().line + 1;
}

template <typename T, typename F>
void set_if(const YAML::Node& map, const char* key, T& target, F&& get) {
    if (auto v = map[key]; v) {
        if (auto parsed = get(v))
            target = *parsed;
    }
}

void read_cluster(reader& r, const YAML::Node& n, cluster_section& c) {
    if (!r.check_map(n, "cluster",
                     {"name", "interface", "server_ip", "subnet", "router", "dns", "ntp", "domain",
                      "state_dir"}))
        return;
    set_if(n, "name", c.name, [&](auto& v) { return r.scalar(v, "cluster.name"); });
    set_if(n, "interface", c.interface, [&](auto& v) { return r.scalar(v, "cluster.interface"); });
    set_if(n, "domain", c.domain, [&](auto& v) { return r.scalar(v, "cluster.domain"); });
    if (!n["server_ip"])
        r.error(n, "'cluster.server_ip' is required (the address nodes boot from)");
    set_if(n, "server_ip", c.server_ip, [&](auto& v) { return r.ip(v, "cluster.server_ip"); });
    if (!n["subnet"])
        r.error(n, "'cluster.subnet' is required, e.g. 10.42.0.0/24");
    if (auto v = n["subnet"]) {
        if (auto s = r.scalar(v, "cluster.subnet")) {
            if (auto sn = ipv4_subnet::parse(*s))
                c.subnet = *sn;
            else
                r.error(v, fmt::format("'cluster.subnet' is not a network like 10.42.0.0/24 "
                                       "(host bits must be zero): '{}'",
                                       *s));
        }
    }
    if (auto v = n["router"])
        c.router = r.ip(v, "cluster.router");
    if (auto v = n["dns"])
        c.dns = r.ip_list(v, "cluster.dns");
    if (auto v = n["ntp"])
        c.ntp = r.ip_list(v, "cluster.ntp");
    set_if(n, "state_dir", c.state_dir, [&](auto& v) { return r.path(v, "cluster.state_dir"); });
}

void read_dhcp(reader& r, const YAML::Node& n, dhcp_section& d) {
    if (!r.check_map(n, "dhcp",
                     {"enabled", "mode", "pool", "lease_time", "unknown_clients", "menu_text",
                      "pi3b_menu_padding", "option66", "proxy_delay", "port"}))
        return;
    set_if(n, "enabled", d.enabled, [&](auto& v) { return r.boolean(v, "dhcp.enabled"); });
    set_if(n, "mode", d.mode, [&](auto& v) {
        return r.choice<dhcp_mode>(v, "dhcp.mode",
                                   {{"full", dhcp_mode::full}, {"proxy", dhcp_mode::proxy}});
    });
    if (auto v = n["pool"]) {
        if (auto s = r.scalar(v, "dhcp.pool")) {
            auto dash = s->find('-');
            std::optional<ipv4_address> a, b;
            if (dash != std::string::npos) {
                a = ipv4_address::parse(std::string_view(*s).substr(0, dash));
                b = ipv4_address::parse(std::string_view(*s).substr(dash + 1));
            }
            if (!a || !b)
                r.error(v, fmt::format("'dhcp.pool' must be 'FIRST-LAST' addresses, e.g. "
                                       "10.42.0.100-10.42.0.199, not '{}'",
                                       *s));
            else if (*b < *a)
                r.error(v, fmt::format("'dhcp.pool' runs backwards: '{}'", *s));
            else
                d.pool = address_pool{*a, *b};
        }
    }
    if (auto v = n["lease_time"]) {
        if (auto s = r.scalar(v, "dhcp.lease_time")) {
            if (*s == "infinite")
                d.lease_time.reset();
            else if (auto dur = r.duration<seconds>(v, "dhcp.lease_time")) {
                if (dur->count() < 60)
                    r.error(v, "'dhcp.lease_time' must be at least 60s or 'infinite'");
                else
                    d.lease_time = *dur;
            }
        }
    } else {
        d.lease_time.reset();
    }
    set_if(n, "unknown_clients", d.unknown_clients, [&](auto& v) {
        return r.choice<unknown_client_policy>(v, "dhcp.unknown_clients",
                                               {{"ignore", unknown_client_policy::ignore},
                                                {"log", unknown_client_policy::log},
                                                {"pool", unknown_client_policy::pool}});
    });
    set_if(n, "menu_text", d.menu_text, [&](auto& v) -> std::optional<std::string> {
        auto s = r.scalar(v, "dhcp.menu_text");
        if (s && (s->empty() || s->size() > 200)) {
            r.error(v, "'dhcp.menu_text' must be 1 to 200 characters");
            return std::nullopt;
        }
        return s;
    });
    set_if(n, "pi3b_menu_padding", d.pi3b_menu_padding,
           [&](auto& v) { return r.boolean(v, "dhcp.pi3b_menu_padding"); });
    set_if(n, "option66", d.option66, [&](auto& v) { return r.boolean(v, "dhcp.option66"); });
    set_if(n, "proxy_delay", d.proxy_delay_g3,
           [&](auto& v) { return r.duration<milliseconds>(v, "dhcp.proxy_delay"); });
    set_if(n, "port", d.port,
           [&](auto& v) { return r.number<std::uint16_t>(v, "dhcp.port", 1, 65535); });
    if (d.unknown_clients == unknown_client_policy::pool && !d.pool)
        r.error(n, "'dhcp.unknown_clients: pool' needs a 'dhcp.pool' to lease from");
}

void read_tftp(reader& r, const YAML::Node& n, tftp_section& t) {
    if (!r.check_map(n, "tftp",
                     {"enabled", "root", "nodes_dir", "templates_dir", "max_blksize",
                      "max_windowsize", "max_transfers", "max_transfers_per_client", "data_threads",
                      "data_nice", "port"}))
        return;
    set_if(n, "enabled", t.enabled, [&](auto& v) { return r.boolean(v, "tftp.enabled"); });
    set_if(n, "root", t.root, [&](auto& v) { return r.path(v, "tftp.root"); });
    set_if(n, "nodes_dir", t.nodes_dir, [&](auto& v) { return r.path(v, "tftp.nodes_dir"); });
    set_if(n, "templates_dir", t.templates_dir,
           [&](auto& v) { return r.path(v, "tftp.templates_dir"); });
    set_if(n, "max_blksize", t.max_blksize,
           [&](auto& v) { return r.number<int>(v, "tftp.max_blksize", 8, 65464); });
    set_if(n, "max_windowsize", t.max_windowsize,
           [&](auto& v) { return r.number<int>(v, "tftp.max_windowsize", 1, 64); });
    set_if(n, "max_transfers", t.max_transfers,
           [&](auto& v) { return r.number<int>(v, "tftp.max_transfers", 1, 100000); });
    set_if(n, "max_transfers_per_client", t.max_transfers_per_client,
           [&](auto& v) { return r.number<int>(v, "tftp.max_transfers_per_client", 1, 1000); });
    set_if(n, "data_threads", t.data_threads,
           [&](auto& v) { return r.number<int>(v, "tftp.data_threads", 1, 64); });
    set_if(n, "data_nice", t.data_nice,
           [&](auto& v) { return r.number<int>(v, "tftp.data_nice", -20, 19); });
    set_if(n, "port", t.port,
           [&](auto& v) { return r.number<std::uint16_t>(v, "tftp.port", 1, 65535); });
}

void read_nfs(reader& r, const YAML::Node& n, nfs_section& s) {
    if (!r.check_map(n, "nfs",
                     {"backend", "base_root", "roots_dir", "content_dir", "templates_dir",
                      "exports_file", "ganesha_pid_file", "shared_writable", "authorized_keys",
                      "agent"}))
        return;
    set_if(n, "backend", s.backend, [&](auto& v) {
        return r.choice<nfs_backend>(v, "nfs.backend",
                                     {{"kernel", nfs_backend::kernel},
                                      {"ganesha", nfs_backend::ganesha},
                                      {"none", nfs_backend::none}});
    });
    set_if(n, "base_root", s.base_root, [&](auto& v) { return r.path(v, "nfs.base_root"); });
    set_if(n, "roots_dir", s.roots_dir, [&](auto& v) { return r.path(v, "nfs.roots_dir"); });
    set_if(n, "content_dir", s.content_dir, [&](auto& v) { return r.path(v, "nfs.content_dir"); });
    set_if(n, "templates_dir", s.templates_dir,
           [&](auto& v) { return r.path(v, "nfs.templates_dir"); });
    set_if(n, "exports_file", s.exports_file,
           [&](auto& v) { return r.path(v, "nfs.exports_file"); });
    set_if(n, "ganesha_pid_file", s.ganesha_pid_file,
           [&](auto& v) { return r.path(v, "nfs.ganesha_pid_file"); });
    set_if(n, "shared_writable", s.shared_writable,
           [&](auto& v) { return r.boolean(v, "nfs.shared_writable"); });
    if (auto v = n["authorized_keys"])
        s.authorized_keys = r.path(v, "nfs.authorized_keys");
    set_if(n, "agent", s.agent, [&](auto& v) { return r.boolean(v, "nfs.agent"); });
}

void read_api(reader& r, const YAML::Node& n, api_section& a) {
    if (!r.check_map(n, "api", {"listen", "token_file", "unix_socket", "capture"}))
        return;
    set_if(n, "capture", a.capture, [&](auto& v) { return r.boolean(v, "api.capture"); });
    if (auto v = n["listen"]) {
        if (auto s = r.scalar(v, "api.listen")) {
            auto colon = s->rfind(':');
            bool ok =
                colon != std::string::npos && ipv4_address::parse(s->substr(0, colon)).has_value();
            if (ok) {
                try {
                    int port = std::stoi(s->substr(colon + 1));
                    ok = port > 0 && port < 65536 && std::to_string(port) == s->substr(colon + 1);
                } catch (const std::exception&) {
                    ok = false;
                }
            }
            if (ok)
                a.listen = *s;
            else
                r.error(v,
                        fmt::format(
                            "'api.listen' must be ADDRESS:PORT like 127.0.0.1:8067, not '{}'", *s));
        }
    }
    if (auto v = n["token_file"])
        a.token_file = r.path(v, "api.token_file");
    if (auto v = n["unix_socket"])
        a.unix_socket = r.path(v, "api.unix_socket");
}

std::optional<power_binding> read_power_binding(reader& r, const YAML::Node& n,
                                                std::string_view where) {
    if (!r.check_map(n, where, {"driver", "channel"}))
        return std::nullopt;
    power_binding b;
    if (auto v = n["driver"]) {
        if (auto s = r.scalar(v, fmt::format("{}.driver", where)))
            b.driver = *s;
    } else {
        r.error(n, fmt::format("'{}' needs a 'driver'", where));
        return std::nullopt;
    }
    if (auto v = n["channel"]) {
        if (auto s = r.scalar(v, fmt::format("{}.channel", where)))
            b.channel = *s;
    }
    return b;
}

void read_power(reader& r, const YAML::Node& n, power_section& p) {
    if (!r.check_map(n, "power", {"drivers", "sequence"}))
        return;
    if (auto drivers = n["drivers"]) {
        if (!drivers.IsMap()) {
            r.error(drivers, "'power.drivers' must map driver names to their settings");
        } else {
            for (const auto& kv : drivers) {
                power_driver_config d;
                d.name = kv.first.as<std::string>();
                d.line = line_of(kv.first);
                if (!kv.second.IsMap()) {
                    r.error(
                        kv.second,
                        fmt::format("power driver '{}' must be a mapping with a 'type'", d.name));
                    continue;
                }
                if (auto t = kv.second["type"]) {
                    if (auto s = r.scalar(t, "type"))
                        d.type = *s;
                    static const std::set<std::string> known{"command", "http", "gpio",
                                                             "snmp",    "ipmi", "sim"};
                    if (!known.count(d.type))
                        r.error(t, fmt::format(
                                       "power driver '{}' has unknown type '{}' (known: command, "
                                       "http, gpio, snmp, ipmi, sim)",
                                       d.name, d.type));
                } else {
                    r.error(kv.second, fmt::format("power driver '{}' needs a 'type'", d.name));
                }
                d.settings = kv.second;
                p.drivers.emplace(d.name, std::move(d));
            }
        }
    }
    if (auto s = n["sequence"]) {
        if (r.check_map(s, "power.sequence", {"stagger", "max_parallel", "wait_for", "on_start"})) {
            set_if(s, "stagger", p.sequence.stagger,
                   [&](auto& v) { return r.duration<milliseconds>(v, "power.sequence.stagger"); });
            set_if(s, "max_parallel", p.sequence.max_parallel, [&](auto& v) {
                return r.number<int>(v, "power.sequence.max_parallel", 1, 1000);
            });
            set_if(s, "wait_for", p.sequence.wait_for, [&](auto& v) -> std::optional<std::string> {
                auto w = r.scalar(v, "power.sequence.wait_for");
                if (w && *w != "" && *w != "dhcp" && *w != "tftp" && *w != "up") {
                    r.error(
                        v, fmt::format(
                               "'power.sequence.wait_for' must be dhcp, tftp or up, not '{}'", *w));
                    return std::nullopt;
                }
                return w;
            });
            set_if(s, "on_start", p.sequence.on_start,
                   [&](auto& v) { return r.boolean(v, "power.sequence.on_start"); });
        }
    }
}

struct raw_templates {
    std::string hostname;
    YAML::Node hostname_at;
    std::string ip;
    YAML::Node ip_at;
};

void read_defaults(reader& r, const YAML::Node& n, node_defaults& d, raw_templates& t) {
    if (!r.check_map(n, "defaults", {"hostname", "ip", "root", "model", "power"}))
        return;
    if (auto v = n["hostname"]) {
        if (auto s = r.scalar(v, "defaults.hostname")) {
            d.hostname = *s;
            t.hostname_at = v;
        }
    }
    if (auto v = n["ip"]) {
        if (auto s = r.scalar(v, "defaults.ip")) {
            d.ip = *s;
            t.ip_at = v;
        }
    }
    set_if(n, "root", d.root, [&](auto& v) -> std::optional<root_mode> {
        auto s = r.scalar(v, "defaults.root");
        if (!s)
            return std::nullopt;
        auto m = parse_root_mode(*s);
        if (!m)
            r.error(v,
                    fmt::format("'defaults.root' must be shared, overlay or clone, not '{}'", *s));
        return m;
    });
    set_if(n, "model", d.model, [&](auto& v) -> std::optional<node_model> {
        auto s = r.scalar(v, "defaults.model");
        if (!s)
            return std::nullopt;
        auto m = parse_node_model(*s);
        if (!m)
            r.error(v,
                    fmt::format(
                        "'defaults.model' must be detect, pi3b, pi3b+, pi4, pi5 or other, not '{}'",
                        *s));
        return m;
    });
    if (auto v = n["power"])
        d.power = read_power_binding(r, v, "defaults.power");
}

bool valid_hostname(std::string_view h) {
    if (h.empty() || h.size() > 63 || h.front() == '-' || h.back() == '-')
        return false;
    for (char c : h)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-'))
            return false;
    return true;
}

template_vars node_vars(int position, const std::string& hostname) {
    template_vars v;
    v["position"] = std::int64_t{position};
    if (!hostname.empty())
        v["hostname"] = hostname;
    return v;
}

// Where each key of a node was written, so cross-node errors point at the value at fault.
struct node_marks {
    /// The file the node was read from (the cluster file or the enrolled nodes file).
    std::string file;
    std::map<std::string, std::pair<int, int>, std::less<>> at;
    std::pair<int, int> item{0, 0};
    std::pair<int, int> of(std::string_view key) const {
        auto it = at.find(key);
        return it == at.end() ? item : it->second;
    }
};

std::pair<int, int> mark_of(const YAML::Node& n) {
    return {n.Mark().line + 1, n.Mark().column + 1};
}

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// "b8-27-eb-fc-6a-59" in either case: what the Pi asks for with TFTP_PREFIX=2.
bool looks_like_dashed_mac(std::string_view s) {
    if (s.size() != 17)
        return false;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (i % 3 == 2 ? s[i] != '-' : !is_hex(s[i]))
            return false;
    return true;
}

// Why `p` cannot be a node's TFTP_PREFIX_STR, or nothing. The bootloader prepends the string
// verbatim to every file name, so it must be usable at the start of a TFTP name that the
// resolver's traversal rules accept, and must not be mistaken for the serial or MAC prefix.
std::optional<std::string> tftp_prefix_problem(std::string_view p) {
    if (p.empty() || p.size() > 127)
        return fmt::format("is {} characters; it must be 1 to 127", p.size());
    for (char c : p) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e)
            return std::string("must be printable ASCII (no control characters, NUL or "
                               "non-ASCII bytes)");
        if (c == '\\')
            return std::string("must not contain a backslash");
    }
    if (p.front() == '/')
        return std::string("must not start with '/' (TFTP names are relative to the root)");
    for (std::size_t pos = 0; pos <= p.size();) {
        auto slash = p.find('/', pos);
        if (slash == std::string_view::npos)
            slash = p.size();
        if (p.substr(pos, slash - pos) == "..")
            return std::string("must not contain a '..' component");
        pos = slash + 1;
    }
    const auto first = p.substr(0, std::min(p.find('/'), p.size()));
    if (first.size() == 8 && parse_serial(first))
        return std::string("looks like an 8-hex serial prefix; the Pi's TFTP_PREFIX=0 (serial) "
                           "mode is already mapped to the node with that 'serial'");
    if (looks_like_dashed_mac(first))
        return std::string("looks like a dashed MAC prefix; the Pi's TFTP_PREFIX=2 (MAC) mode is "
                           "already mapped to the node with that 'mac'");
    return std::nullopt;
}

// `enrolled`: the netbootd-managed enrolled nodes file, whose entries may only carry position,
// mac and serial (everything else comes from `defaults`, as for a cluster-file node without it).
void read_nodes(reader& r, const YAML::Node& n, const node_defaults& d, cluster_config& cfg,
                std::vector<node_marks>& marks, bool enrolled = false) {
    if (!n.IsSequence()) {
        r.error(n, "'nodes' must be a list of nodes, each with at least 'position' and 'mac'");
        return;
    }
    for (const auto& item : n) {
        if (enrolled ? !r.check_map(item, "nodes[]", {"position", "mac", "serial"})
                     : !r.check_map(item, "nodes[]",
                                    {"position", "mac", "serial", "hostname", "ip", "root", "model",
                                     "power", "tftp_prefix"}))
            continue;
        node nd;
        nd.line = line_of(item);
        node_marks nm;
        nm.file = r.file();
        nm.item = mark_of(item);
        for (const auto& kv : item)
            nm.at.emplace(kv.first.as<std::string>(), mark_of(kv.second));
        bool ok = true;
        if (auto v = item["position"]) {
            if (auto p = r.number<int>(v, "position", 1, 1'000'000))
                nd.position = *p;
            else
                ok = false;
        } else {
            r.error(item, "node needs a 'position' (its slot in the rack, 1..N)");
            ok = false;
        }
        if (auto v = item["mac"]) {
            if (auto s = r.scalar(v, "mac")) {
                if (auto m = mac_address::parse(*s))
                    nd.mac = *m;
                else {
                    r.error(
                        v, fmt::format(
                               "malformed MAC '{}' (expected six hex pairs like b8:27:eb:fc:6a:59)",
                               *s));
                    ok = false;
                }
            }
        } else {
            r.error(item, "node needs a 'mac'");
            ok = false;
        }
        if (auto v = item["serial"]) {
            if (auto s = r.scalar(v, "serial")) {
                if (auto sn = parse_serial(*s))
                    nd.serial = *sn;
                else {
                    r.error(v,
                            fmt::format(
                                "malformed serial '{}' (expected 8 hex digits like 27e247cc)", *s));
                    ok = false;
                }
            }
        }
        // Hostname: the node's own, else the default template.
        if (auto v = item["hostname"]) {
            if (auto s = r.scalar(v, "hostname"))
                nd.hostname = *s;
        } else if (ok) {
            auto h = render_template(d.hostname, node_vars(nd.position, ""));
            if (h)
                nd.hostname = *h;
            else {
                r.error(item, fmt::format("defaults.hostname: {}", h.error().message));
                ok = false;
            }
        }
        if (ok && !valid_hostname(nd.hostname)) {
            r.error(
                item["hostname"] ? item["hostname"] : item,
                fmt::format("hostname '{}' is not valid (letters, digits and '-', 1-63 characters)",
                            nd.hostname));
            ok = false;
        }
        if (auto v = item["ip"]) {
            if (auto a = r.ip(v, "ip"))
                nd.ip = *a;
            else
                ok = false;
        } else if (!d.ip.empty() && ok) {
            auto text = render_template(d.ip, node_vars(nd.position, nd.hostname));
            auto a = text ? ipv4_address::parse(*text) : std::nullopt;
            if (!a) {
                r.error(item, fmt::format("defaults.ip '{}' gives no address for position {}{}",
                                          d.ip, nd.position,
                                          text ? fmt::format(" (got '{}')", *text)
                                               : ": " + text.error().message));
                ok = false;
            } else {
                nd.ip = *a;
            }
        } else if (ok) {
            r.error(item, "node has no 'ip' and 'defaults.ip' is not set");
            ok = false;
        }
        nd.root = d.root;
        if (auto v = item["root"]) {
            if (auto s = r.scalar(v, "root")) {
                if (auto m = parse_root_mode(*s))
                    nd.root = *m;
                else {
                    r.error(v,
                            fmt::format("'root' must be shared, overlay or clone, not '{}'", *s));
                    ok = false;
                }
            }
        }
        nd.model = d.model;
        if (auto v = item["model"]) {
            if (auto s = r.scalar(v, "model")) {
                if (auto m = parse_node_model(*s))
                    nd.model = *m;
                else {
                    r.error(v,
                            fmt::format(
                                "'model' must be detect, pi3b, pi3b+, pi4, pi5 or other, not '{}'",
                                *s));
                    ok = false;
                }
            }
        }
        if (auto v = item["tftp_prefix"]) {
            if (auto s = r.scalar(v, "tftp_prefix")) {
                if (auto why = tftp_prefix_problem(*s)) {
                    r.error(v, fmt::format("'tftp_prefix' '{}' {}", *s, *why));
                    ok = false;
                } else {
                    nd.tftp_prefix = *s;
                }
            }
        }
        nd.power = d.power;
        if (auto v = item["power"]) {
            nd.power = read_power_binding(r, v, "power");
        }
        if (nd.power && ok) {
            // The channel may be a template of the position ("{position}").
            auto ch = render_template(nd.power->channel, node_vars(nd.position, nd.hostname));
            if (ch)
                nd.power->channel = *ch;
            else {
                r.error(item, fmt::format("power channel '{}': {}", nd.power->channel,
                                          ch.error().message));
                ok = false;
            }
        }
        if (ok) {
            cfg.nodes.push_back(std::move(nd));
            marks.push_back(std::move(nm));
        }
    }
}

// Cross-node checks: uniqueness, addresses against the subnet, the server and the pool.
void check_nodes(reader& r, cluster_config& cfg, const std::vector<node_marks>& marks) {
    using where = std::pair<std::string, int>;
    std::unordered_map<int, where> positions;
    std::unordered_map<mac_address, where> macs;
    std::unordered_map<ipv4_address, where> ips;
    std::unordered_map<std::string, where> hostnames;
    std::unordered_map<std::uint32_t, where> serials;
    std::unordered_map<std::string, where> tftp_prefixes;
    const node_marks* m = nullptr;
    auto err = [&](std::string_view key, std::string message) {
        auto [line, col] = m->of(key);
        r.error_in(m->file, line, col, std::move(message));
    };
    // Where a value was first used: "line 12" in the same file, "cluster.yaml:12" across files.
    auto dup = [&](auto& seen, const auto& key, const node& n, std::string_view yaml_key,
                   std::string_view what, const std::string& shown) {
        auto [it, inserted] = seen.emplace(key, std::pair<std::string, int>(m->file, n.line));
        if (!inserted)
            err(yaml_key,
                fmt::format("duplicate {} {} (first used at {})", what, shown,
                            it->second.first == m->file
                                ? fmt::format("line {}", it->second.second)
                                : fmt::format("{}:{}", it->second.first, it->second.second)));
    };
    bool have_subnet = cfg.cluster.subnet.prefix_len > 0;
    for (std::size_t i = 0; i < cfg.nodes.size(); ++i) {
        const auto& n = cfg.nodes[i];
        m = &marks[i];
        dup(positions, n.position, n, "position", "position", std::to_string(n.position));
        dup(macs, n.mac, n, "mac", "MAC", n.mac.to_string());
        dup(ips, n.ip, n, "ip", "IP", n.ip.to_string());
        dup(hostnames, n.hostname, n, "hostname", "hostname", n.hostname);
        if (n.serial)
            dup(serials, *n.serial, n, "serial", "serial", format_serial(*n.serial));
        if (!n.tftp_prefix.empty())
            dup(tftp_prefixes, n.tftp_prefix, n, "tftp_prefix", "tftp_prefix",
                "'" + n.tftp_prefix + "'");
        if (have_subnet && !cfg.cluster.subnet.contains(n.ip))
            err("ip", fmt::format("IP {} of {} is outside the subnet {}", n.ip.to_string(),
                                  n.hostname, cfg.cluster.subnet.to_string()));
        if (n.ip == cfg.cluster.server_ip)
            err("ip", fmt::format("IP {} of {} is the server's own address", n.ip.to_string(),
                                  n.hostname));
        if (have_subnet &&
            (n.ip == cfg.cluster.subnet.network || n.ip == cfg.cluster.subnet.broadcast()))
            err("ip", fmt::format("IP {} of {} is the subnet's network or broadcast address",
                                  n.ip.to_string(), n.hostname));
        if (cfg.dhcp.pool && cfg.dhcp.pool->contains(n.ip))
            err("ip", fmt::format("IP {} of {} lies inside the dynamic pool {}-{}",
                                  n.ip.to_string(), n.hostname, cfg.dhcp.pool->first.to_string(),
                                  cfg.dhcp.pool->last.to_string()));
        if (n.power && !cfg.power.drivers.count(n.power->driver))
            err("power",
                fmt::format("{} uses power driver '{}', which 'power.drivers' does not define",
                            n.hostname, n.power->driver));
    }
    if (cfg.dhcp.pool && have_subnet) {
        if (!cfg.cluster.subnet.contains(cfg.dhcp.pool->first) ||
            !cfg.cluster.subnet.contains(cfg.dhcp.pool->last))
            r.error_at(0, 0,
                       fmt::format("dhcp.pool {}-{} is not inside the subnet {}",
                                   cfg.dhcp.pool->first.to_string(),
                                   cfg.dhcp.pool->last.to_string(),
                                   cfg.cluster.subnet.to_string()));
        if (cfg.dhcp.pool->contains(cfg.cluster.server_ip))
            r.error_at(0, 0, "dhcp.pool contains the server's own address");
    }
    if (have_subnet && !cfg.cluster.subnet.contains(cfg.cluster.server_ip))
        r.error_at(0, 0,
                   fmt::format("cluster.server_ip {} is outside cluster.subnet {}",
                               cfg.cluster.server_ip.to_string(), cfg.cluster.subnet.to_string()));
}

// Adds the enrolled nodes file's entries to `cfg` (see parse_config for the precedence).
void merge_enrolled(reader& r, const enrolled_nodes_text& en, cluster_config& cfg,
                    std::vector<node_marks>& marks) {
    r.set_file(en.name);
    YAML::Node root;
    try {
        root = YAML::Load(en.text);
    } catch (const YAML::Exception& e) {
        r.error_at(e.mark.line + 1, e.mark.column + 1, e.msg);
        return;
    }
    if (root.IsNull())
        return;
    if (!r.check_map(root, "enrolled nodes file", {"nodes"}))
        return;
    auto list = root["nodes"];
    if (!list || list.IsNull())
        return;
    cluster_config extra;
    std::vector<node_marks> extra_marks;
    read_nodes(r, list, cfg.defaults, extra, extra_marks, true);
    for (std::size_t i = 0; i < extra.nodes.size(); ++i) {
        auto& n = extra.nodes[i];
        const auto same = std::find_if(cfg.nodes.begin(), cfg.nodes.end(),
                                       [&](const node& c) { return c.position == n.position; });
        if (same != cfg.nodes.end()) {
            if (same->mac != n.mac) {
                const auto [line, col] = extra_marks[i].of("mac");
                r.error_at(
                    line, col,
                    fmt::format("position {} is enrolled as {} but {}:{} binds it to {}; "
                                "the cluster file wins only when both agree: remove one",
                                n.position, n.mac.to_string(),
                                marks[static_cast<std::size_t>(same - cfg.nodes.begin())].file,
                                same->line, same->mac.to_string()));
            }
            continue; // the same board, already in the cluster file
        }
        cfg.nodes.push_back(std::move(n));
        marks.push_back(std::move(extra_marks[i]));
        ++cfg.enrolled_count;
    }
}

} // namespace

std::filesystem::path enrolled_nodes_path(const std::filesystem::path& config) {
    return std::filesystem::absolute(config).parent_path() / "enrolled-nodes.yaml";
}

cluster_config parse_config(const std::string& text, const std::string& name,
                            const std::filesystem::path& base_dir,
                            const std::optional<enrolled_nodes_text>& enrolled) {
    reader r(name, base_dir);
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw config_error({diagnostic{name, e.mark.line + 1, e.mark.column + 1, e.msg}});
    }
    cluster_config cfg;
    cfg.source = name;
    if (!root.IsMap()) {
        throw config_error({diagnostic{
            name, 1, 1, "the cluster file must be a mapping with 'cluster' and 'nodes'"}});
    }
    try {
        r.check_map(root, "top level",
                    {"cluster", "dhcp", "tftp", "nfs", "api", "power", "defaults", "nodes"});
        if (auto n = root["cluster"])
            read_cluster(r, n, cfg.cluster);
        else
            r.error_at(1, 1, "'cluster' section is required");
        if (auto n = root["dhcp"])
            read_dhcp(r, n, cfg.dhcp);
        if (auto n = root["tftp"])
            read_tftp(r, n, cfg.tftp);
        if (auto n = root["nfs"])
            read_nfs(r, n, cfg.nfs);
        if (auto n = root["api"])
            read_api(r, n, cfg.api);
        if (auto n = root["power"])
            read_power(r, n, cfg.power);
        raw_templates t;
        if (auto n = root["defaults"])
            read_defaults(r, n, cfg.defaults, t);
        std::vector<node_marks> marks;
        if (auto n = root["nodes"]; n && !n.IsNull())
            read_nodes(r, n, cfg.defaults, cfg, marks);
        if (enrolled)
            merge_enrolled(r, *enrolled, cfg, marks);
        r.set_file(name);
        check_nodes(r, cfg, marks);
    } catch (const YAML::Exception& e) {
        // yaml-cpp throws on conversions of odd nodes (e.g. a non-scalar key); keep its position.
        r.error_at(e.mark.line + 1, e.mark.column + 1, e.msg);
    }
    if (!r.diags.empty())
        throw config_error(std::move(r.diags));
    return cfg;
}

cluster_config load_config(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw config_error({diagnostic{file.string(), 0, 0, "cannot open file"}});
    std::ostringstream ss;
    ss << in.rdbuf();
    auto abs = std::filesystem::absolute(file);
    std::optional<enrolled_nodes_text> enrolled;
    const auto enrolled_file = enrolled_nodes_path(file);
    std::error_code ec;
    if (std::filesystem::exists(enrolled_file, ec)) {
        std::ifstream ein(enrolled_file, std::ios::binary);
        if (!ein)
            throw config_error({diagnostic{enrolled_file.string(), 0, 0, "cannot open file"}});
        std::ostringstream es;
        es << ein.rdbuf();
        enrolled = enrolled_nodes_text{es.str(), enrolled_file.string()};
    }
    auto cfg = parse_config(ss.str(), file.string(), abs.parent_path(), enrolled);
    cfg.source = abs;
    if (enrolled)
        cfg.enrolled_source = enrolled_file;
    return cfg;
}

} // namespace netbootd
