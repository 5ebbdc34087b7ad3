#include "netbootd/power/http_driver.hpp"

#include <fmt/format.h>

namespace netbootd::power {

namespace {

std::string homematic_call(std::string_view method, bool with_value, bool value) {
    std::string body =
        fmt::format("<?xml version=\"1.0\"?><methodCall><methodName>{}</methodName><params>"
                    "<param><value><string>{{channel}}</string></value></param>"
                    "<param><value><string>STATE</string></value></param>",
                    method);
    if (with_value)
        body += fmt::format("<param><value><boolean>{}</boolean></value></param>", value ? 1 : 0);
    body += "</params></methodCall>";
    return body;
}

http_request_template get(std::string path) {
    http_request_template t;
    t.path = std::move(path);
    return t;
}

http_request_template xmlrpc(std::string body) {
    http_request_template t;
    t.method = "POST";
    t.path = "/";
    t.body = std::move(body);
    t.format = body_format::xml;
    t.content_type = "text/xml";
    return t;
}

// Base64 for HTTP Basic authentication.
std::string base64(std::string_view in) {
    static constexpr char table[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    while (i + 2 < in.size()) {
        const auto n = (static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16) |
                       (static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8) |
                       static_cast<unsigned>(static_cast<unsigned char>(in[i + 2]));
        out += table[(n >> 18) & 63];
        out += table[(n >> 12) & 63];
        out += table[(n >> 6) & 63];
        out += table[n & 63];
        i += 3;
    }
    if (i < in.size()) {
        unsigned n = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16;
        if (i + 1 < in.size())
            n |= static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8;
        out += table[(n >> 18) & 63];
        out += table[(n >> 12) & 63];
        out += i + 1 < in.size() ? table[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string json_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20)
                out +=
                    fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
            else
                out += c;
        }
    }
    return out;
}

template_vars escaped(const template_vars& vars, std::string (*fn)(std::string_view)) {
    template_vars out;
    for (const auto& [k, v] : vars) {
        if (const auto* s = std::get_if<std::string>(&v))
            out[k] = fn(*s);
        else
            out[k] = v;
    }
    return out;
}

bool valid_host(std::string_view h) {
    if (h.empty() || h.size() > 253)
        return false;
    for (char c : h)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
            return false;
    return true;
}

std::optional<body_format> parse_body_format(std::string_view s) {
    if (s == "text")
        return body_format::text;
    if (s == "xml")
        return body_format::xml;
    if (s == "json")
        return body_format::json;
    return std::nullopt;
}

} // namespace

std::string url_encode(std::string_view s) {
    std::string out;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~')
            out += c;
        else
            out += fmt::format("%{:02X}", static_cast<unsigned>(u));
    }
    return out;
}

std::string xml_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '&':
            out += "&amp;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&apos;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::optional<http_driver_settings> http_preset(std::string_view name) {
    http_driver_settings s;
    s.preset = std::string(name);
    if (name == "tasmota") {
        s.host = "{channel}";
        s.on = get("/cm?cmnd=Power%20On");
        s.off = get("/cm?cmnd=Power%20Off");
        s.status = get("/cm?cmnd=Power");
        s.status_on = "\"POWER\":\"ON\"";
        s.status_off = "\"POWER\":\"OFF\"";
        s.error_on = "\"Command\":\"Unknown\"";
        return s;
    }
    if (name == "shelly") {
        s.host = "{channel}";
        s.on = get("/relay/0?turn=on");
        s.off = get("/relay/0?turn=off");
        s.status = get("/relay/0");
        s.status_on = "\"ison\":true";
        s.status_off = "\"ison\":false";
        return s;
    }
    if (name == "homematic") {
        s.port = 2001;
        s.on = xmlrpc(homematic_call("setValue", true, true));
        s.off = xmlrpc(homematic_call("setValue", true, false));
        s.status = xmlrpc(homematic_call("getValue", false, false));
        s.status_on = "<boolean>1</boolean>";
        s.status_off = "<boolean>0</boolean>";
        s.error_on = "<fault>";
        return s;
    }
    return std::nullopt;
}

http_driver::http_driver(std::string name, http_driver_settings s)
    : driver(std::move(name)), s_(std::move(s)) {}

std::unique_ptr<http_driver> http_driver::from_config(settings_reader& r,
                                                      const YAML::Node& settings) {
    r.allow({"preset", "host", "port", "timeout", "cycle_delay", "user", "password", "on", "off",
             "status", "cycle", "status_on", "status_off", "error_on"});
    http_driver_settings s;
    if (auto p = r.string("preset")) {
        if (auto preset = http_preset(*p))
            s = *preset;
        else
            r.error("preset",
                    fmt::format("unknown preset '{}' (known: tasmota, shelly, homematic)", *p));
    }
    if (auto v = r.string("host"))
        s.host = *v;
    if (auto v = r.integer("port", 1, 65535))
        s.port = static_cast<std::uint16_t>(*v);
    if (auto v = r.duration("timeout"))
        s.timeout = *v;
    if (auto v = r.duration("cycle_delay"))
        s.cycle_delay = *v;
    if (auto v = r.string("user"))
        s.user = *v;
    if (auto v = r.string("password"))
        s.password = *v;
    if (auto v = r.string("status_on"))
        s.status_on = *v;
    if (auto v = r.string("status_off"))
        s.status_off = *v;
    if (auto v = r.string("error_on"))
        s.error_on = *v;

    // A request is either a path (GET) or a mapping {method, path, body, format, content_type}.
    auto read_request = [&](const char* key) -> std::optional<http_request_template> {
        const YAML::Node& m = settings;
        const YAML::Node n = m[key];
        if (!n.IsDefined() || n.IsNull())
            return std::nullopt;
        if (n.IsScalar())
            return get(n.Scalar());
        if (!n.IsMap()) {
            r.error(key,
                    fmt::format("'{}' must be a path or a mapping with method, path, body", key));
            return std::nullopt;
        }
        http_request_template t;
        for (const auto& kv : n) {
            const auto k = kv.first.as<std::string>();
            if (!kv.second.IsScalar()) {
                r.error(key, fmt::format("'{}.{}' must be a single value", key, k));
                continue;
            }
            const auto& v = kv.second.Scalar();
            if (k == "method")
                t.method = v;
            else if (k == "path")
                t.path = v;
            else if (k == "body")
                t.body = v;
            else if (k == "content_type")
                t.content_type = v;
            else if (k == "format") {
                if (auto f = parse_body_format(v))
                    t.format = *f;
                else
                    r.error(key,
                            fmt::format("'{}.format' must be text, xml or json, not '{}'", key, v));
            } else
                r.error(key,
                        fmt::format("unknown key '{}' in '{}' (known: method, path, body, format, "
                                    "content_type)",
                                    k, key));
        }
        if (t.path.empty())
            t.path = "/";
        if (t.method != "GET" && t.method != "POST" && t.method != "PUT")
            r.error(key,
                    fmt::format("'{}.method' must be GET, POST or PUT, not '{}'", key, t.method));
        return t;
    };
    if (auto t = read_request("on"))
        s.on = *t;
    if (auto t = read_request("off"))
        s.off = *t;
    if (auto t = read_request("status"))
        s.status = *t;
    if (auto t = read_request("cycle"))
        s.cycle = *t;
    if (s.on.path.empty())
        r.error("on", "needs 'on' (a path or a request), or a 'preset'");
    if (s.off.path.empty())
        r.error("off", "needs 'off' (a path or a request), or a 'preset'");
    if (s.host.empty())
        r.error(
            "host",
            "needs 'host' (the plug or gateway; \"{channel}\" when each node has its own plug)");
    if (!r.ok())
        return nullptr;
    auto d = std::make_unique<http_driver>(r.driver_name(), std::move(s));
    node sample;
    sample.position = 1;
    sample.hostname = "node01";
    for (auto a :
         {power_action::on, power_action::off, power_action::status, power_action::cycle}) {
        if (a == power_action::status && !d->s_.status)
            continue;
        if (auto p = d->describe_action(a, sample, "plug1"); !p)
            r.error(to_string(a), p.error());
    }
    if (!r.ok())
        return nullptr;
    return d;
}

tl::expected<http_step, std::string> http_driver::render(const http_request_template& t,
                                                         const template_vars& vars) const {
    http_step step;
    step.method = t.method;
    step.port = s_.port;
    step.timeout = s_.timeout;
    auto host = render_template(s_.host, vars);
    if (!host)
        return tl::unexpected(fmt::format("host '{}': {}", s_.host, host.error().message));
    if (!valid_host(*host))
        return tl::unexpected(fmt::format("'{}' is not a host name or address", *host));
    step.host = *host;
    auto path = render_template(t.path, escaped(vars, url_encode));
    if (!path)
        return tl::unexpected(fmt::format("path '{}': {}", t.path, path.error().message));
    step.target = *path;
    if (!t.body.empty()) {
        const auto body_vars = t.format == body_format::xml    ? escaped(vars, xml_escape)
                               : t.format == body_format::json ? escaped(vars, json_escape)
                                                               : vars;
        auto body = render_template(t.body, body_vars);
        if (!body)
            return tl::unexpected(fmt::format("body: {}", body.error().message));
        step.body = *body;
    }
    if (!t.content_type.empty())
        step.headers.emplace_back("Content-Type", t.content_type);
    if (!s_.user.empty())
        step.headers.emplace_back("Authorization", "Basic " + base64(s_.user + ":" + s_.password));
    return step;
}

tl::expected<action_plan, std::string>
http_driver::describe_action(power_action a, const node& n, const std::string& channel) const {
    const auto vars = target_vars(n, channel);
    action_plan plan;
    auto add = [&](const http_request_template& t) -> std::optional<std::string> {
        auto st = render(t, vars);
        if (!st)
            return st.error();
        plan.push_back(std::move(*st));
        return std::nullopt;
    };
    std::optional<std::string> err;
    switch (a) {
    case power_action::on:
        err = add(s_.on);
        break;
    case power_action::off:
        err = add(s_.off);
        break;
    case power_action::status:
        if (!s_.status)
            return tl::unexpected(fmt::format("driver '{}' has no 'status' request", name()));
        err = add(*s_.status);
        break;
    case power_action::cycle:
        if (s_.cycle) {
            err = add(*s_.cycle);
        } else {
            err = add(s_.off);
            plan.push_back(sleep_step{s_.cycle_delay});
            if (!err)
                err = add(s_.on);
        }
        break;
    }
    if (err)
        return tl::unexpected(*err);
    return plan;
}

step_outcome http_driver::run_step(const plan_step& s) {
    auto o = driver::run_step(s);
    if (o.ok && std::holds_alternative<http_step>(s) && !s_.error_on.empty() &&
        o.output.find(s_.error_on) != std::string::npos) {
        o.ok = false;
        auto body = o.output.substr(0, 300);
        o.error = fmt::format("{} answered with an error: {}", std::get<http_step>(s).host, body);
    }
    return o;
}

power_state http_driver::interpret_status(const std::string& output) const {
    // JSON answers differ in spacing between firmware versions: compare without blanks.
    std::string compact;
    for (char c : output)
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            compact += c;
    auto strip = [](const std::string& s) {
        std::string out;
        for (char c : s)
            if (c != ' ')
                out += c;
        return out;
    };
    return match_status(compact, strip(s_.status_on), strip(s_.status_off));
}

} // namespace netbootd::power
