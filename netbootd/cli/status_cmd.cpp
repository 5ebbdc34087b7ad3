#include "netbootd/cli/status_cmd.hpp"

#include <iostream>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <unistd.h>

#include "netbootd/cli/api_client.hpp"

namespace netbootd::cli {

namespace {

using json = nlohmann::json;

const char* const stage_order[] = {"off",    "powered",  "dhcp", "firmware",
                                   "kernel", "nfs-root", "up"};

// Background colours per stage (ANSI SGR), chosen to read left to right as "getting warmer".
std::string stage_colour(const std::string& stage) {
    if (stage == "powered")
        return "\x1b[30;44m";
    if (stage == "dhcp")
        return "\x1b[30;43m";
    if (stage == "firmware")
        return "\x1b[30;45m";
    if (stage == "kernel")
        return "\x1b[30;46m";
    if (stage == "nfs-root")
        return "\x1b[30;102m";
    if (stage == "up")
        return "\x1b[30;42m";
    return "\x1b[37;100m"; // off
}
constexpr const char* problem_colour = "\x1b[97;41m";
constexpr const char* reset = "\x1b[0m";

std::string str(const json& j, const char* key, const char* fallback = "") {
    if (j.is_object() && j.contains(key) && j[key].is_string())
        return j[key].get<std::string>();
    if (j.is_object() && j.contains(key) && j[key].is_number())
        return j[key].dump();
    return fallback;
}

bool has_problem(const json& n) {
    const auto p = str(n, "problem", "ok");
    return p != "ok" && p != "booting" && p != "off";
}

std::string stage_of(const json& n) {
    return n.contains("state") ? str(n["state"], "stage", "off") : "off";
}

// "18:02:11" from an ISO time.
std::string clock_part(const std::string& iso) {
    auto t = iso.find('T');
    if (t == std::string::npos)
        return iso;
    auto z = iso.find('Z', t);
    return iso.substr(t + 1, (z == std::string::npos ? iso.size() : z) - t - 1);
}

std::string wrap(const std::string& text, std::size_t width, const std::string& indent) {
    std::string out = indent;
    std::size_t col = indent.size();
    std::size_t i = 0;
    while (i < text.size()) {
        auto sp = text.find(' ', i);
        if (sp == std::string::npos)
            sp = text.size();
        const auto word = text.substr(i, sp - i);
        if (col > indent.size() && col + 1 + word.size() > width) {
            out += "\n" + indent;
            col = indent.size();
        } else if (col > indent.size()) {
            out += ' ';
            ++col;
        }
        out += word;
        col += word.size();
        i = sp + 1;
    }
    return out;
}

// CLI11's exit() prints nothing for RuntimeError, so the message goes out here.
[[noreturn]] void fail(const api_reply& r) {
    std::cerr << fmt::format("netbootctl: API error {}: {}\n", r.status, r.error_message());
    throw CLI::RuntimeError(1);
}

struct common_opts {
    std::string api = default_api_url();
    api_client client() const {
        auto ep = parse_api_url(api);
        if (!ep) {
            std::cerr << "netbootctl: cannot parse --api '" << api << "'\n";
            throw CLI::RuntimeError(1);
        }
        return api_client(*ep);
    }
};

// Positions -> hostnames, for log lines of events that only carry a position.
json node_names(const api_client& c) {
    json names = json::object();
    try {
        auto r = c.get("/api/v1/nodes");
        const auto j = r.json(); // keep the document alive for the loop
        if (r.status == 200 && j.is_object() && j.contains("nodes"))
            for (const auto& n : j["nodes"])
                names[std::to_string(n["position"].get<int>())] = n["hostname"];
    } catch (const std::exception&) {
    }
    return names;
}

} // namespace

std::string render_grid(const json& nodes, bool color, int columns) {
    if (columns < 1)
        columns = 10;
    std::string out;
    int width = 2;
    for (const auto& n : nodes)
        width =
            std::max<int>(width, static_cast<int>(std::to_string(n.value("position", 0)).size()));
    int col = 0;
    std::map<std::string, int> per_stage;
    int problems = 0;
    for (const auto& n : nodes) {
        const auto stage = stage_of(n);
        ++per_stage[stage];
        const bool bad = has_problem(n);
        problems += bad;
        const auto label = fmt::format("{:>{}}", n.value("position", 0), width);
        if (color)
            out += std::string(bad ? problem_colour : stage_colour(stage).c_str()) + " " + label +
                   " " + reset;
        else
            out += fmt::format("[{}{}{}]", label, bad ? '!' : ' ', stage.substr(0, 1));
        out += ' ';
        if (++col == columns) {
            out += '\n';
            col = 0;
        }
    }
    if (col != 0)
        out += '\n';
    out += '\n';
    for (const char* s : stage_order) {
        const int count = per_stage.count(s) ? per_stage[s] : 0;
        if (color)
            out += stage_colour(s) + " " + s + " " + reset + fmt::format(" {}  ", count);
        else
            out += fmt::format("{}={}  ", s, count);
    }
    if (color)
        out += std::string(problem_colour) + " problem " + reset + fmt::format(" {}", problems);
    else
        out += fmt::format("problem={}  (! = problem, letter = stage)", problems);
    out += '\n';
    for (const auto& n : nodes)
        if (has_problem(n))
            out += fmt::format("  {:>{}} {:<12} {}: {}\n", n.value("position", 0), width,
                               str(n, "hostname"), str(n, "problem"), str(n, "summary"));
    return out;
}

std::string render_table(const json& nodes) {
    std::string out =
        fmt::format("{:>4}  {:<14} {:<17} {:<15} {:<9} {:<12} {:<20} {}\n", "POS", "HOSTNAME",
                    "MAC", "IP", "STAGE", "SINCE", "LAST EVENT", "PROBLEM");
    for (const auto& n : nodes) {
        const auto& st = n.contains("state") ? n["state"] : json::object();
        const auto since = str(st, "since");
        const auto last = st.contains("last_event") && st["last_event"].is_object()
                              ? str(st["last_event"], "kind")
                              : std::string("-");
        const auto problem = str(n, "problem", "ok");
        out += fmt::format(
            "{:>4}  {:<14} {:<17} {:<15} {:<9} {:<12} {:<20} {}\n", n.value("position", 0),
            str(n, "hostname"), str(n, "mac"), str(st, "ip").empty() ? str(n, "ip") : str(st, "ip"),
            str(st, "stage", "off"), since.empty() ? "-" : clock_part(since), last,
            problem == "ok" || problem == "off" ? problem : problem + ": " + str(n, "summary"));
    }
    return out;
}

std::string format_event_line(const json& e, const json& names) {
    std::string who;
    if (e.contains("position") && e["position"].is_number_integer()) {
        const auto key = std::to_string(e["position"].get<int>());
        who =
            names.is_object() && names.contains(key) ? names[key].get<std::string>() : "pos" + key;
    } else if (e.contains("mac")) {
        who = str(e, "mac");
    } else {
        who = "-";
    }
    std::string out = fmt::format("{:<12} {:<22} {:<12} {:<15}", clock_part(str(e, "time")),
                                  str(e, "kind"), who, str(e, "ip", "-"));
    if (e.contains("fields") && e["fields"].is_object())
        for (const auto& [k, v] : e["fields"].items())
            out += " " + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
    return out;
}

std::string render_diagnosis(const json& d) {
    std::string out;
    const auto& n = d.contains("node") ? d["node"] : json::object();
    out += fmt::format("{} (position {}, {})\n", str(n, "hostname"), str(n, "position"),
                       str(n, "mac"));
    const auto problem = str(d, "problem", "ok");
    out += fmt::format("  stage:   {}\n", str(d, "stage"));
    out += fmt::format("  status:  {}{}\n", problem,
                       str(d, "summary").empty() ? "" : " - " + str(d, "summary"));
    if (!str(d, "explanation").empty())
        out += "\n" + wrap(str(d, "explanation"), 96, "  ") + "\n";
    if (d.contains("hints") && d["hints"].is_array() && !d["hints"].empty()) {
        out += "\n  What to check:\n";
        for (const auto& h : d["hints"])
            if (h.is_string()) {
                auto w = wrap(h.get<std::string>(), 96, "      ");
                w.replace(0, 6, "    - ");
                out += w + "\n";
            }
    }
    if (d.contains("recent_events") && d["recent_events"].is_array() &&
        !d["recent_events"].empty()) {
        out += "\n  Recent events:\n";
        for (const auto& e : d["recent_events"])
            out += "    " + format_event_line(e) + "\n";
    }
    return out;
}

void add_diag_commands(CLI::App& app) {
    add_diag_commands(app, std::cout);
}

void add_diag_commands(CLI::App& app, std::ostream& out) {
    // status
    {
        auto* cmd = app.add_subcommand("status", "Boot stage of every node: a rack grid coloured "
                                                 "by stage, or a table");
        struct opts : common_opts {
            std::string range;
            bool table = false;
            bool as_json = false;
            bool no_color = false;
            int columns = 10;
        };
        auto o = std::make_shared<opts>();
        cmd->add_option("RANGE", o->range, "Nodes: 1-20, node[01-04], 10.42.0.[1-9], all");
        cmd->add_flag("--table", o->table, "One line per node");
        cmd->add_flag("--json", o->as_json, "The API's JSON");
        cmd->add_flag("--no-color", o->no_color, "No ANSI colours (also NO_COLOR, or not a tty)");
        cmd->add_option("--columns", o->columns, "Positions per grid row")
            ->check(CLI::Range(1, 200));
        cmd->add_option("--api", o->api, "API address (http://HOST:PORT or unix:/PATH)");
        cmd->callback([o, &out] {
            auto c = o->client();
            auto r = c.get("/api/v1/nodes" +
                           (o->range.empty() ? std::string() : "?select=" + url_encode(o->range)));
            if (r.status != 200)
                fail(r);
            auto j = r.json();
            if (o->as_json) {
                out << j["nodes"].dump(2) << "\n";
                return;
            }
            if (o->table) {
                out << render_table(j["nodes"]);
                return;
            }
            const bool color = !o->no_color && std::getenv("NO_COLOR") == nullptr &&
                               &out == &std::cout && ::isatty(STDOUT_FILENO);
            out << render_grid(j["nodes"], color, o->columns);
        });
    }
    // logs
    {
        auto* cmd = app.add_subcommand("logs", "Event history, and live events with --follow");
        struct opts : common_opts {
            bool follow = false;
            std::string node;
            std::string kind;
            std::string since;
            std::size_t limit = 50;
            bool as_json = false;
            std::size_t max_events = 0;
        };
        auto o = std::make_shared<opts>();
        cmd->add_flag("-f,--follow", o->follow, "Keep printing new events as they happen");
        cmd->add_option("-n,--node", o->node, "Position, hostname, MAC or IP");
        cmd->add_option("-k,--kind", o->kind, "Event kind (tftp.sent) or prefix (tftp.)");
        cmd->add_option("--since", o->since, "10m, or an ISO time");
        cmd->add_option("--limit", o->limit, "History lines to show")->check(CLI::Range(1, 10000));
        cmd->add_flag("--json", o->as_json, "One JSON object per line");
        cmd->add_option("--max-events", o->max_events, "With --follow: stop after N live events")
            ->group("");
        cmd->add_option("--api", o->api, "API address (http://HOST:PORT or unix:/PATH)");
        cmd->callback([o, &out] {
            auto c = o->client();
            std::string q = "limit=" + std::to_string(o->limit);
            if (!o->node.empty())
                q += "&node=" + url_encode(o->node);
            if (!o->kind.empty())
                q += "&kind=" + url_encode(o->kind);
            if (!o->since.empty())
                q += "&since=" + url_encode(o->since);
            auto r = c.get("/api/v1/events?" + q);
            if (r.status != 200)
                fail(r);
            auto j = r.json();
            const auto names = o->as_json ? json::object() : node_names(c);
            auto print = [&](const json& e) {
                out << (o->as_json ? e.dump() : format_event_line(e, names)) << "\n";
                out.flush();
            };
            for (const auto& e : j["events"])
                print(e);
            if (!o->follow)
                return;
            // Resume right after the newest event the history showed, so nothing is lost
            // between the two calls.
            std::string sq = "after=" + std::to_string(j.value("last_seq", std::uint64_t{0}));
            if (!o->node.empty())
                sq += "&node=" + url_encode(o->node);
            if (!o->kind.empty())
                sq += "&kind=" + url_encode(o->kind);
            std::size_t seen = 0;
            auto refused = c.stream("/api/v1/events/stream?" + sq, [&](const json& e) {
                print(e);
                return o->max_events == 0 || ++seen < o->max_events;
            });
            if (refused)
                fail(*refused);
        });
    }
    // diagnose
    {
        auto* cmd = app.add_subcommand("diagnose", "Where a node's boot stopped, and why");
        struct opts : common_opts {
            std::string node;
            bool as_json = false;
        };
        auto o = std::make_shared<opts>();
        cmd->add_option("NODE", o->node, "Position, hostname, MAC or IP")->required();
        cmd->add_flag("--json", o->as_json, "The API's JSON");
        cmd->add_option("--api", o->api, "API address (http://HOST:PORT or unix:/PATH)");
        cmd->callback([o, &out] {
            auto c = o->client();
            auto r = c.get("/api/v1/nodes/" + url_encode(o->node) + "/diagnosis");
            if (r.status != 200)
                fail(r);
            auto j = r.json();
            out << (o->as_json ? j.dump(2) + "\n" : render_diagnosis(j));
            const auto p = j.value("problem", std::string("ok"));
            if (p != "ok" && p != "booting" && p != "off")
                throw CLI::RuntimeError(2);
        });
    }
}

} // namespace netbootd::cli
