#include "netbootd/api/router.hpp"

#include <charconv>
#include <ctime>
#include <set>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "netbootd/core/duration.hpp"

namespace netbootd::api {

namespace {

using json = nlohmann::json;
using clock_t_ = std::chrono::system_clock;

constexpr std::size_t default_limit = 100;
constexpr std::size_t max_limit = 10000;
constexpr std::size_t ring_scan = 65536;

http_response json_response(int status, const json& j) {
    http_response r;
    r.status = status;
    r.body = j.dump(2, ' ', false, json::error_handler_t::replace);
    r.body.push_back('\n');
    return r;
}

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < path.size()) {
        while (i < path.size() && path[i] == '/')
            ++i;
        auto j = path.find('/', i);
        if (j == std::string_view::npos)
            j = path.size();
        if (j > i)
            out.push_back(path.substr(i, j - i));
        i = j;
    }
    return out;
}

int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

std::optional<std::string> pct_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%') {
            if (i + 2 >= s.size())
                return std::nullopt;
            const int h = hexval(s[i + 1]);
            const int l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return std::nullopt;
            out.push_back(static_cast<char>(h * 16 + l));
            i += 2;
        } else if (s[i] == '+') {
            out.push_back(' ');
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

std::optional<std::size_t> parse_size(std::string_view s) {
    std::size_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size())
        return std::nullopt;
    return v;
}

std::string get(const std::map<std::string, std::string>& q, const char* key) {
    auto it = q.find(key);
    return it == q.end() ? std::string() : it->second;
}

bool valid_kind(std::string_view k) {
    if (k.size() > 64)
        return false;
    for (char c : k)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
            return false;
    return true;
}

bool kind_matches(std::string_view want, std::string_view kind) {
    if (want.empty())
        return true;
    if (want.back() == '.')
        return kind.starts_with(want);
    return kind == want;
}

} // namespace

std::optional<std::map<std::string, std::string>> parse_query(std::string_view query) {
    std::map<std::string, std::string> out;
    std::size_t i = 0;
    while (i <= query.size()) {
        auto j = query.find('&', i);
        if (j == std::string_view::npos)
            j = query.size();
        auto part = query.substr(i, j - i);
        if (!part.empty()) {
            auto eq = part.find('=');
            auto k = pct_decode(part.substr(0, eq));
            auto v = eq == std::string_view::npos ? std::optional<std::string>("")
                                                  : pct_decode(part.substr(eq + 1));
            if (!k || !v)
                return std::nullopt;
            out[*k] = *v;
        }
        i = j + 1;
    }
    return out;
}

std::string format_time(clock_t_::time_point t) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", fmt::gmtime(clock_t_::to_time_t(t)),
                       ((ms % 1000) + 1000) % 1000);
}

std::optional<clock_t_::time_point> parse_since(std::string_view text, clock_t_::time_point now) {
    if (text.empty())
        return std::nullopt;
    if (text.find_first_not_of("0123456789") == std::string_view::npos && text.size() >= 10) {
        std::int64_t ms = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
        if (ec != std::errc())
            return std::nullopt;
        return clock_t_::time_point(std::chrono::milliseconds(ms));
    }
    if (text.size() >= 19 && text[4] == '-' && text[10] == 'T') {
        std::tm tm{};
        int frac = 0;
        char z = 0;
        const std::string s(text);
        const int n = std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
                                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec);
        if (n != 6)
            return std::nullopt;
        auto rest = text.substr(19);
        if (!rest.empty() && rest.front() == '.') {
            std::size_t k = 1;
            int digits = 0;
            while (k < rest.size() && std::isdigit(static_cast<unsigned char>(rest[k]))) {
                if (digits < 3) {
                    frac = frac * 10 + (rest[k] - '0');
                    ++digits;
                }
                ++k;
            }
            while (digits++ < 3)
                frac *= 10;
            rest = rest.substr(k);
        }
        if (rest.size() == 1)
            z = rest[0];
        if (!(rest.empty() || z == 'Z'))
            return std::nullopt;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        const auto secs = ::timegm(&tm);
        if (secs == -1)
            return std::nullopt;
        return clock_t_::from_time_t(secs) + std::chrono::milliseconds(frac);
    }
    if (auto d = parse_duration(text))
        return now - *d;
    return std::nullopt;
}

json to_json(const diag::node_state& s) {
    json j;
    j["stage"] = diag::to_string(s.current);
    j["since"] = s.since == clock_t_::time_point{} ? json(nullptr) : json(format_time(s.since));
    if (!s.last_event_kind.empty())
        j["last_event"] = {{"kind", s.last_event_kind},
                           {"time", format_time(s.last_event_time)},
                           {"seq", s.last_event_seq}};
    else
        j["last_event"] = nullptr;
    j["ip"] = s.ip ? json(s.ip->to_string()) : json(nullptr);
    if (s.lease_seconds) {
        json lease = {{"since", format_time(s.lease_time)}};
        if (*s.lease_seconds < 0) {
            lease["infinite"] = true;
        } else {
            lease["infinite"] = false;
            lease["seconds"] = *s.lease_seconds;
            lease["expires"] = format_time(s.lease_time + std::chrono::seconds(*s.lease_seconds));
        }
        j["lease"] = lease;
    } else {
        j["lease"] = nullptr;
    }
    j["power"] = s.power;
    j["dhcp_client"] = s.dhcp_client.empty() ? json(nullptr) : json(s.dhcp_client);
    j["cycles"] = s.cycles;
    j["counters"] = {{"discovers", s.discovers},   {"offers", s.offers},
                     {"requests", s.requests},     {"acks", s.acks},
                     {"drops", s.drops},           {"rrqs", s.rrqs},
                     {"files_sent", s.files_sent}, {"bytes_sent", s.bytes_sent}};
    j["last_file"] = s.last_file.empty() ? json(nullptr) : json(s.last_file);
    if (!s.agent_hostname.empty() || !s.agent_kernel.empty())
        j["agent"] = {{"hostname", s.agent_hostname}, {"kernel", s.agent_kernel}};
    else
        j["agent"] = nullptr;
    return j;
}

http_response router::error(int status, std::string message) {
    return json_response(status, {{"error", std::move(message)}, {"status", status}});
}

bool router::is_stream(const http_request& req) {
    auto path = std::string_view(req.target).substr(0, req.target.find('?'));
    while (path.size() > 1 && path.back() == '/')
        path.remove_suffix(1);
    return path == "/api/v1/events/stream";
}

const node* router::find_node(const registry& reg, std::string_view id,
                              std::optional<ipv4_address> peer) const {
    if (id == "self")
        return peer ? reg.by_ip(*peer) : nullptr;
    if (!id.empty() && id.size() <= 9 &&
        id.find_first_not_of("0123456789") == std::string_view::npos) {
        int pos = 0;
        std::from_chars(id.data(), id.data() + id.size(), pos);
        return reg.by_position(pos);
    }
    if (auto mac = mac_address::parse(id))
        return reg.by_mac(*mac);
    if (auto ip = ipv4_address::parse(id))
        return reg.by_ip(*ip);
    return reg.by_hostname(id);
}

std::optional<http_response> router::require_token(const http_request& req) {
    if (d_.auth.bearer_ok(req.authorization))
        return std::nullopt;
    event e;
    e.source = "api";
    e.kind = "api.auth_failed";
    e.level = severity::warning;
    e.ip = req.peer;
    e.fields = {{"method", req.method},
                {"path", req.target.substr(0, std::min<std::size_t>(req.target.size(), 200))},
                {"reason", !d_.auth.has_token()        ? "no api.token_file configured"
                           : req.authorization.empty() ? "no token"
                                                       : "wrong token"}};
    d_.events.publish(e);
    auto r = error(401, d_.auth.has_token()
                            ? "this call needs 'Authorization: Bearer <token>' (api.token_file)"
                            : "mutating calls are disabled: set api.token_file");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
}

http_response router::handle(const http_request& req) {
    http_response r;
    try {
        r = route(req);
    } catch (const std::exception& ex) {
        r = error(500, std::string("internal error: ") + ex.what());
    } catch (...) {
        r = error(500, "internal error");
    }
    // A deferred answer is counted by the server once it is known.
    if (d_.stats && !r.deferred)
        d_.stats->count_request(r.status);
    return r;
}

void router::set_power_hook(power_hook hook) {
    if (!hook) {
        d_.power = {};
        return;
    }
    d_.power = [hook = std::move(hook), &holder = d_.registry](const power_request& r,
                                                               const power_done& done) {
        const auto reg = holder.get();
        const node* n = reg->by_position(r.position);
        if (!n) {
            done(tl::unexpected(fmt::format("no node at position {}", r.position)));
            return;
        }
        done(hook(*n, r.action));
    };
}

http_response router::route(const http_request& req) {
    const auto qpos = req.target.find('?');
    const std::string_view path = std::string_view(req.target).substr(0, qpos);
    if (path.empty() || path.front() != '/')
        return error(400, "request target must be an absolute path");
    auto query =
        parse_query(qpos == std::string::npos ? std::string_view()
                                              : std::string_view(req.target).substr(qpos + 1));
    if (!query)
        return error(400, "malformed query string");
    std::vector<std::string> parts;
    for (auto p : split_path(path)) {
        auto dec = pct_decode(p);
        if (!dec)
            return error(400, "malformed path");
        parts.push_back(std::move(*dec));
    }
    const bool get = req.method == "GET" || req.method == "HEAD";
    const bool post = req.method == "POST";

    if (parts.size() == 1 && parts[0] == "metrics") {
        if (!get)
            return error(405, "use GET");
        return metrics_text();
    }
    if (parts.size() < 2 || parts[0] != "api" || parts[1] != "v1")
        return error(404, fmt::format("no such endpoint: {}", std::string(path)));
    parts.erase(parts.begin(), parts.begin() + 2);
    if (parts.empty())
        return json_response(
            200, {{"endpoints",
                   {"/api/v1/nodes", "/api/v1/nodes/{id}", "/api/v1/nodes/{id}/diagnosis",
                    "/api/v1/events", "/api/v1/events/stream", "/metrics"}}});

    if (parts[0] == "events") {
        if (parts.size() == 1) {
            if (!get)
                return error(405, "use GET");
            return events_query(*query);
        }
        if (parts.size() == 2 && parts[1] == "stream")
            return error(400, "the event stream is served by the HTTP server only");
        return error(404, "no such endpoint");
    }
    if (parts[0] == "slots" && parts.size() == 3 && parts[2] == "power") {
        if (!post)
            return error(405, "use POST");
        return slot_power(req, parts[1]);
    }
    if (parts[0] != "nodes")
        return error(404, fmt::format("no such endpoint: {}", std::string(path)));
    if (parts.size() == 1) {
        if (!get)
            return error(405, "use GET");
        return nodes_list(*query);
    }
    const auto reg = d_.registry.get();
    const node* n = find_node(*reg, parts[1], req.peer);
    if (!n)
        return error(404, fmt::format("no node '{}' (give a position, hostname, MAC or IP)",
                                      parts[1].substr(0, 64)));
    if (parts.size() == 2) {
        if (!get)
            return error(405, "use GET");
        return node_get(*n);
    }
    if (parts.size() == 3 && parts[2] == "diagnosis") {
        if (!get)
            return error(405, "use GET");
        return node_diagnosis(*n);
    }
    if (parts.size() == 3 && parts[2] == "power") {
        if (!post)
            return error(405, "use POST");
        return node_power(req, *n);
    }
    if (parts.size() == 3 && parts[2] == "up") {
        if (!post)
            return error(405, "use POST");
        return node_up(req, *n);
    }
    return error(404, fmt::format("no such endpoint: {}", std::string(path)));
}

json router::node_json(const node& n, const diag::node_state& s, bool with_diagnosis) {
    json j = {{"position", n.position},
              {"hostname", n.hostname},
              {"mac", n.mac.to_string()},
              {"serial", n.serial ? json(format_serial(*n.serial)) : json(nullptr)},
              {"tftp_prefix", n.tftp_prefix.empty() ? json(nullptr) : json(n.tftp_prefix)},
              {"ip", n.ip.to_string()},
              {"root", to_string(n.root)},
              {"model", to_string(n.model)}};
    j["power_binding"] =
        n.power ? json{{"driver", n.power->driver}, {"channel", n.power->channel}} : json(nullptr);
    j["state"] = to_json(s);
    if (with_diagnosis) {
        const auto evs = d_.tracker.events_for(n.position);
        const auto dg = diag::diagnose(s, evs, d_.clock(), d_.diagnosis);
        j["problem"] = dg.problem;
        j["summary"] = dg.summary;
    }
    return j;
}

http_response router::nodes_list(const std::map<std::string, std::string>& q) {
    const auto reg = d_.registry.get();
    std::vector<const node*> nodes;
    if (auto sel = get(q, "select"); !sel.empty()) {
        auto r = reg->select(sel);
        if (!r)
            return error(400, r.error());
        nodes = std::move(*r);
    } else {
        for (const auto& n : reg->nodes())
            nodes.push_back(&n);
    }
    const auto snap = d_.tracker.snapshot();
    json arr = json::array();
    for (const node* n : nodes) {
        auto it = snap.find(n->position);
        arr.push_back(node_json(*n, it == snap.end() ? diag::node_state{} : it->second, true));
    }
    return json_response(200, {{"cluster", reg->config().cluster.name},
                               {"time", format_time(d_.clock())},
                               {"nodes", std::move(arr)}});
}

http_response router::node_get(const node& n) {
    auto j = node_json(n, d_.tracker.state(n.position), true);
    j["time"] = format_time(d_.clock());
    return json_response(200, j);
}

http_response router::node_diagnosis(const node& n) {
    const auto s = d_.tracker.state(n.position);
    const auto evs = d_.tracker.events_for(n.position);
    const auto dg = diag::diagnose(s, evs, d_.clock(), d_.diagnosis);
    json j = diag::to_json(dg);
    j["node"] = {{"position", n.position}, {"hostname", n.hostname}, {"mac", n.mac.to_string()}};
    j["state"] = to_json(s);
    j["time"] = format_time(d_.clock());
    json recent = json::array();
    const std::size_t from = evs.size() > 20 ? evs.size() - 20 : 0;
    for (std::size_t i = from; i < evs.size(); ++i)
        recent.push_back(netbootd::to_json(evs[i]));
    j["recent_events"] = std::move(recent);
    return json_response(200, j);
}

http_response router::events_query(const std::map<std::string, std::string>& q) {
    static const std::set<std::string> known = {"node", "kind", "since", "limit", "after"};
    for (const auto& [k, v] : q)
        if (!known.contains(k))
            return error(400,
                         fmt::format("unknown parameter '{}' (node, kind, since, limit, after)",
                                     k.substr(0, 32)));
    std::optional<int> position;
    if (auto id = get(q, "node"); !id.empty()) {
        const auto reg = d_.registry.get();
        const node* n = find_node(*reg, id, std::nullopt);
        if (!n)
            return error(404, fmt::format("no node '{}'", id.substr(0, 64)));
        position = n->position;
    }
    const auto kind = get(q, "kind");
    if (!valid_kind(kind))
        return error(400, "kind must be like 'tftp.sent' or a prefix like 'tftp.'");
    std::size_t limit = default_limit;
    if (auto l = get(q, "limit"); !l.empty()) {
        auto v = parse_size(l);
        if (!v || *v == 0)
            return error(400, "limit must be a positive number");
        limit = std::min(*v, max_limit);
    }
    std::uint64_t after = 0;
    if (auto a = get(q, "after"); !a.empty()) {
        auto v = parse_size(a);
        if (!v)
            return error(400, "after must be an event seq number");
        after = *v;
    }
    std::optional<clock_t_::time_point> since;
    if (auto s = get(q, "since"); !s.empty()) {
        since = parse_since(s, d_.clock());
        if (!since)
            return error(400, "since must be a duration (10m), an ISO time "
                              "(2026-01-01T00:00:00Z) or epoch milliseconds");
    }

    stream_query sq{position, kind, after};
    auto wanted = [&](const event& e) {
        return stream_matches(sq, e) && (!since || e.time >= *since);
    };
    // The ring first: it holds this run's newest events. Only when it cannot fill the answer
    // does the on-disk log (older runs, rotated files) get read.
    event_filter f;
    f.kind = kind;
    f.after_seq = after;
    const bool narrow = position.has_value() || since.has_value();
    auto ring = d_.events.recent(f, narrow ? ring_scan : limit);
    std::vector<event> out;
    for (auto& e : ring)
        if (wanted(e))
            out.push_back(std::move(e));
    if (out.size() > limit)
        out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(limit));
    std::string source = "memory";
    if (out.size() < limit && d_.log && after == 0) {
        diag::event_query lq;
        lq.filter.kind = kind;
        lq.filter.position = std::nullopt;
        lq.since = since;
        lq.limit = position ? max_limit * 10 : limit;
        auto disk = d_.log->read(lq);
        std::vector<event> from_disk;
        for (auto& e : disk) {
            // Older runs' seq values restart at 1; only node and kind matter here.
            e.seq = std::max<std::uint64_t>(e.seq, 1);
            if (wanted(e))
                from_disk.push_back(std::move(e));
        }
        if (from_disk.size() > out.size()) {
            out = std::move(from_disk);
            if (out.size() > limit)
                out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(limit));
            source = "log";
        }
    }
    json arr = json::array();
    for (const auto& e : out)
        arr.push_back(netbootd::to_json(e));
    return json_response(
        200, {{"events", std::move(arr)}, {"source", source}, {"last_seq", d_.events.last_seq()}});
}

std::variant<std::string, http_response> router::power_action_of(const http_request& req) {
    if (auto denied = require_token(req))
        return *denied;
    auto body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("action") ||
        !body["action"].is_string())
        return error(400, "body must be JSON like {\"action\": \"on\"}");
    auto action = body["action"].get<std::string>();
    if (action != "on" && action != "off" && action != "cycle" && action != "status")
        return error(400, "action must be on, off, cycle or status");
    if (!d_.power)
        return error(501, "power control is not available in this build");
    return action;
}

http_response router::deferred_power(int position, const std::string& action) {
    http_response r;
    r.status = 202;
    r.deferred = [hook = d_.power, position, action](std::function<void(http_response)> done) {
        hook(power_request{position, action},
             [done = std::move(done), position, action](tl::expected<json, std::string> res) {
                 if (!res)
                     done(error(502, res.error()));
                 else
                     done(json_response(
                         200, {{"node", position}, {"action", action}, {"result", *res}}));
             });
    };
    return r;
}

http_response router::node_power(const http_request& req, const node& n) {
    auto action = power_action_of(req);
    if (auto* refused = std::get_if<http_response>(&action))
        return std::move(*refused);
    if (!n.power)
        return error(409, fmt::format("{} has no power binding in the cluster file", n.hostname));
    return deferred_power(n.position, std::get<std::string>(action));
}

http_response router::slot_power(const http_request& req, std::string_view position) {
    int p = 0;
    const auto [end, ec] = std::from_chars(position.data(), position.data() + position.size(), p);
    if (ec != std::errc() || end != position.data() + position.size() || p < 1 || p > 1'000'000)
        return error(
            400, fmt::format("'{}' is not a rack position (1..1000000)", position.substr(0, 64)));
    auto action = power_action_of(req);
    if (auto* refused = std::get_if<http_response>(&action))
        return std::move(*refused);
    return deferred_power(p, std::get<std::string>(action));
}

http_response router::node_up(const http_request& req, const node& n) {
    if (!authenticator::from_node(n, req.peer) && !d_.auth.bearer_ok(req.authorization)) {
        event e;
        e.source = "api";
        e.kind = "api.auth_failed";
        e.level = severity::warning;
        e.ip = req.peer;
        e.fields = {{"method", req.method},
                    {"path", req.target.substr(0, std::min<std::size_t>(req.target.size(), 200))},
                    {"reason", "up report not from the node's own address"}};
        d_.events.publish(e);
        return error(
            403, fmt::format("'up' for {} is accepted only from {}", n.hostname, n.ip.to_string()));
    }
    json fields = json::object();
    if (!req.body.empty()) {
        auto body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object())
            return error(400, "body must be a JSON object (hostname, kernel, uptime)");
        for (const char* key : {"hostname", "kernel", "uptime", "agent"}) {
            if (!body.contains(key))
                continue;
            const auto& v = body[key];
            if (v.is_string())
                fields[key] = v.get<std::string>().substr(0, 256);
            else if (v.is_number())
                fields[key] = v;
            else
                return error(400, fmt::format("'{}' must be a string or number", key));
        }
    }
    event e;
    e.source = "agent";
    e.kind = "agent.up";
    e.position = n.position;
    e.mac = n.mac;
    e.ip = req.peer ? req.peer : std::optional<ipv4_address>(n.ip);
    e.fields = std::move(fields);
    e.time = d_.clock();
    d_.events.publish(e);
    return json_response(200, {{"ok", true}, {"node", n.position}, {"stage", "up"}});
}

http_response router::metrics_text() {
    http_response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    std::map<diag::stage, int> stages;
    const auto reg = d_.registry.get();
    const auto snap = d_.tracker.snapshot();
    for (const auto& n : reg->nodes()) {
        auto it = snap.find(n.position);
        ++stages[it == snap.end() ? diag::stage::off : it->second.current];
    }
    if (d_.stats)
        r.body = d_.stats->render(d_.events.counts(), stages);
    else
        r.body = "# metrics disabled\n";
    return r;
}

std::variant<stream_query, http_response> router::open_stream(const http_request& req) const {
    if (req.method != "GET")
        return error(405, "use GET");
    const auto qpos = req.target.find('?');
    auto query =
        parse_query(qpos == std::string::npos ? std::string_view()
                                              : std::string_view(req.target).substr(qpos + 1));
    if (!query)
        return error(400, "malformed query string");
    stream_query sq;
    for (const auto& [k, v] : *query) {
        if (k == "node") {
            const auto reg = d_.registry.get();
            const node* n = find_node(*reg, v, std::nullopt);
            if (!n)
                return error(404, fmt::format("no node '{}'", v.substr(0, 64)));
            sq.position = n->position;
        } else if (k == "kind") {
            if (!valid_kind(v))
                return error(400, "kind must be like 'tftp.sent' or a prefix like 'tftp.'");
            sq.kind = v;
        } else if (k == "after") {
            auto a = parse_size(v);
            if (!a)
                return error(400, "after must be an event seq number");
            sq.after_seq = *a;
        } else {
            return error(
                400, fmt::format("unknown parameter '{}' (node, kind, after)", k.substr(0, 32)));
        }
    }
    return sq;
}

bool router::stream_matches(const stream_query& q, const event& e) const {
    if (e.seq <= q.after_seq)
        return false;
    if (!kind_matches(q.kind, e.kind))
        return false;
    if (q.position) {
        const auto p = e.position ? e.position : d_.tracker.attribute(e);
        if (p != q.position)
            return false;
    }
    return true;
}

} // namespace netbootd::api
