#include "netbootd/api/router.hpp"

#include <gtest/gtest.h>

#include "fixture.hpp"

namespace netbootd::api {
namespace {

using nlohmann::json;
using test::fixture;

// Minimal schema check: every key present with the expected JSON type (null allowed where
// marked with a trailing '?').
void expect_schema(const json& j, const std::map<std::string, json::value_t>& schema,
                   const std::set<std::string>& nullable = {}) {
    ASSERT_TRUE(j.is_object()) << j.dump();
    for (const auto& [key, type] : schema) {
        ASSERT_TRUE(j.contains(key)) << "missing '" << key << "' in " << j.dump();
        if (j[key].is_null() && nullable.contains(key))
            continue;
        auto t = j[key].type();
        if (type == json::value_t::number_integer &&
            (t == json::value_t::number_unsigned || t == json::value_t::number_integer))
            continue;
        EXPECT_EQ(t, type) << "'" << key << "' in " << j.dump();
    }
}

void expect_node_schema(const json& n) {
    using vt = json::value_t;
    expect_schema(n,
                  {{"position", vt::number_integer},
                   {"hostname", vt::string},
                   {"mac", vt::string},
                   {"serial", vt::string},
                   {"tftp_prefix", vt::string},
                   {"ip", vt::string},
                   {"root", vt::string},
                   {"model", vt::string},
                   {"power_binding", vt::object},
                   {"state", vt::object},
                   {"problem", vt::string},
                   {"summary", vt::string}},
                  {"serial", "tftp_prefix", "power_binding"});
    expect_schema(n["state"],
                  {{"stage", vt::string},
                   {"since", vt::string},
                   {"last_event", vt::object},
                   {"ip", vt::string},
                   {"lease", vt::object},
                   {"power", vt::string},
                   {"dhcp_client", vt::string},
                   {"cycles", vt::number_integer},
                   {"counters", vt::object},
                   {"last_file", vt::string},
                   {"agent", vt::object}},
                  {"since", "last_event", "ip", "lease", "dhcp_client", "last_file", "agent"});
}

void expect_error(const http_response& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.body;
    EXPECT_TRUE(j["error"].is_string());
    EXPECT_EQ(j["status"], status);
}

TEST(router, nodes_list_has_inventory_and_live_state) {
    fixture f;
    f.publish(2, "power.on");
    f.publish(2, "dhcp.discover", {{"stage", "pi4"}}, 1);
    f.publish(2, "dhcp.offer", {{"stage", "pi4"}, {"yiaddr", "10.42.0.102"}, {"lease_time", 7200}},
              1.1);
    auto r = f.call("GET", "/api/v1/nodes");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    auto j = f.json_of(r);
    EXPECT_EQ(j["cluster"], "lab");
    ASSERT_EQ(j["nodes"].size(), 3u);
    for (const auto& n : j["nodes"])
        expect_node_schema(n);
    EXPECT_EQ(j["nodes"][0]["serial"], "27e247cc");
    EXPECT_TRUE(j["nodes"][0]["tftp_prefix"].is_null());
    EXPECT_EQ(j["nodes"][2]["tftp_prefix"], "rack1/n03/");
    EXPECT_EQ(j["nodes"][0]["state"]["stage"], "off");
    const auto& n2 = j["nodes"][1];
    EXPECT_EQ(n2["hostname"], "node02");
    EXPECT_EQ(n2["state"]["stage"], "dhcp");
    EXPECT_EQ(n2["state"]["power"], "on");
    EXPECT_EQ(n2["state"]["ip"], "10.42.0.102");
    EXPECT_EQ(n2["state"]["lease"]["seconds"], 7200);
    EXPECT_EQ(n2["state"]["last_event"]["kind"], "dhcp.offer");
    EXPECT_EQ(n2["state"]["counters"]["discovers"], 1);
}

TEST(router, nodes_list_select) {
    fixture f;
    auto j = f.json_of(f.call("GET", "/api/v1/nodes?select=2-3"));
    ASSERT_EQ(j["nodes"].size(), 2u);
    EXPECT_EQ(j["nodes"][0]["position"], 2);
    expect_error(f.call("GET", "/api/v1/nodes?select=99"), 400);
}

TEST(router, node_by_position_hostname_mac_and_ip) {
    fixture f;
    for (auto id : {"3", "node03", "dc:a6:32:00:00:03", "dc-a6-32-00-00-03", "10.42.0.103"}) {
        auto r = f.call("GET", std::string("/api/v1/nodes/") + id);
        ASSERT_EQ(r.status, 200) << id << r.body;
        auto j = f.json_of(r);
        EXPECT_EQ(j["position"], 3) << id;
        expect_node_schema(j);
    }
    expect_error(f.call("GET", "/api/v1/nodes/node99"), 404);
    expect_error(f.call("GET", "/api/v1/nodes/0"), 404);
}

TEST(router, diagnosis_endpoint) {
    fixture f;
    f.publish(1, "dhcp.discover", {{"stage", "pi3-rom"}});
    f.publish(1, "tftp.rrq", {{"file", "bootcode.bin"}}, 1);
    f.publish(1, "tftp.not_found", {{"file", "bootcode.bin"}, {"expected", false}}, 1.1);
    auto r = f.call("GET", "/api/v1/nodes/node01/diagnosis");
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = f.json_of(r);
    using vt = json::value_t;
    expect_schema(j, {{"stage", vt::string},
                      {"problem", vt::string},
                      {"summary", vt::string},
                      {"explanation", vt::string},
                      {"hints", vt::array},
                      {"evidence", vt::array},
                      {"node", vt::object},
                      {"state", vt::object},
                      {"recent_events", vt::array},
                      {"time", vt::string}});
    EXPECT_EQ(j["stage"], "firmware");
    EXPECT_EQ(j["problem"], "firmware_missing");
    EXPECT_EQ(j["recent_events"].size(), 3u);
    EXPECT_EQ(j["evidence"][0], 3);
}

TEST(router, events_filters) {
    fixture f;
    for (int i = 0; i < 10; ++i)
        f.publish(1 + i % 2, i % 3 ? "tftp.sent" : "dhcp.discover", {{"i", i}}, i * 10.0);
    auto all = f.json_of(f.call("GET", "/api/v1/events"));
    EXPECT_EQ(all["events"].size(), 10u);
    EXPECT_EQ(all["source"], "memory");
    auto j = f.json_of(f.call("GET", "/api/v1/events?node=node02&kind=tftp.sent"));
    for (const auto& e : j["events"]) {
        EXPECT_EQ(e["position"], 2);
        EXPECT_EQ(e["kind"], "tftp.sent");
    }
    EXPECT_EQ(j["events"].size(), 3u);
    j = f.json_of(f.call("GET", "/api/v1/events?kind=dhcp.&limit=2"));
    ASSERT_EQ(j["events"].size(), 2u);
    EXPECT_EQ(j["events"][1]["fields"]["i"], 9);
    // since as a duration relative to the fixed clock: events are at now-600s + i*10s.
    j = f.json_of(f.call("GET", "/api/v1/events?since=525s"));
    EXPECT_EQ(j["events"].size(), 2u);
    j = f.json_of(f.call("GET", "/api/v1/events?after=8"));
    EXPECT_EQ(j["events"].size(), 2u);
}

TEST(router, events_bad_parameters) {
    fixture f;
    expect_error(f.call("GET", "/api/v1/events?limit=abc"), 400);
    expect_error(f.call("GET", "/api/v1/events?limit=0"), 400);
    expect_error(f.call("GET", "/api/v1/events?since=yesterday"), 400);
    expect_error(f.call("GET", "/api/v1/events?kind=%3Cscript%3E"), 400);
    expect_error(f.call("GET", "/api/v1/events?bogus=1"), 400);
    expect_error(f.call("GET", "/api/v1/events?node=%zz"), 400);
    expect_error(f.call("GET", "/api/v1/events?node=nosuch"), 404);
    expect_error(f.call("DELETE", "/api/v1/events"), 405);
}

TEST(router, unknown_paths_and_methods) {
    fixture f;
    expect_error(f.call("GET", "/nope"), 404);
    expect_error(f.call("GET", "/api/v1/nodes/1/bogus"), 404);
    expect_error(f.call("POST", "/api/v1/nodes"), 405);
    expect_error(f.call("GET", "/api/v1/nodes/1/power"), 405);
    expect_error(f.call("GET", "*"), 400);
    EXPECT_EQ(f.call("GET", "/api/v1").status, 200);
}

TEST(router, power_needs_token) {
    fixture f;
    auto peer = ipv4_address::parse("127.0.0.1");
    auto r = f.call("POST", "/api/v1/nodes/1/power", R"({"action":"on"})", "", peer);
    expect_error(r, 401);
    ASSERT_FALSE(r.headers.empty());
    EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
    expect_error(f.call("POST", "/api/v1/nodes/1/power", R"({"action":"on"})", "Bearer wrong"),
                 401);
    expect_error(f.call("POST", "/api/v1/nodes/1/power", R"({"action":"on"})", "Bearer s3cret2"),
                 401);
    expect_error(f.call("POST", "/api/v1/nodes/1/power", R"({"action":"on"})", "Basic s3cret"),
                 401);
    auto failed = f.bus.recent({std::nullopt, "api.auth_failed", 0}, 10);
    ASSERT_EQ(failed.size(), 4u);
    EXPECT_EQ(failed[0].fields["reason"], "no token");
    EXPECT_EQ(failed[1].fields["reason"], "wrong token");
    // Right token, but no power module connected yet.
    expect_error(f.call("POST", "/api/v1/nodes/1/power", R"({"action":"on"})", "Bearer s3cret"),
                 501);
    expect_error(
        f.call("POST", "/api/v1/nodes/1/power", R"({"action":"explode"})", "Bearer s3cret"), 400);
    expect_error(f.call("POST", "/api/v1/nodes/1/power", "{not json", "Bearer s3cret"), 400);
}

TEST(router, power_without_token_file_is_refused) {
    fixture f(std::nullopt);
    expect_error(f.call("POST", "/api/v1/nodes/1/power", R"({"action":"on"})", "Bearer "), 401);
    expect_error(f.call("POST", "/api/v1/nodes/1/power", R"({"action":"on"})", "Bearer x"), 401);
}

TEST(router, power_hook_is_called) {
    fixture f;
    std::string seen;
    f.r->set_power_hook(
        [&](const node& n, const std::string& action) -> tl::expected<json, std::string> {
            seen = n.hostname + ":" + action;
            if (action == "off")
                return tl::unexpected(std::string("relay stuck"));
            return json{{"state", "on"}};
        });
    auto r = f.call("POST", "/api/v1/nodes/node02/power", R"({"action":"on"})", "Bearer s3cret");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(seen, "node02:on");
    EXPECT_EQ(f.json_of(r)["result"]["state"], "on");
    expect_error(f.call("POST", "/api/v1/nodes/2/power", R"({"action":"off"})", "Bearer s3cret"),
                 502);
}

TEST(router, slot_power_reaches_positions_without_a_node) {
    fixture f;
    std::vector<std::string> seen;
    f.r->set_power_hook([&](const power_request& rq, const power_done& done) {
        seen.push_back(std::to_string(rq.position) + ":" + rq.action);
        done(json{{"state", "on"}});
    });
    auto r = f.call("POST", "/api/v1/slots/7/power", R"({"action":"on"})", "Bearer s3cret");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(f.json_of(r)["node"], 7);
    EXPECT_EQ(f.json_of(r)["result"]["state"], "on");
    expect_error(f.call("POST", "/api/v1/slots/7/power", R"({"action":"on"})"), 401);
    expect_error(f.call("POST", "/api/v1/slots/x7/power", R"({"action":"on"})", "Bearer s3cret"),
                 400);
    expect_error(f.call("POST", "/api/v1/slots/0/power", R"({"action":"on"})", "Bearer s3cret"),
                 400);
    expect_error(f.call("GET", "/api/v1/slots/7/power"), 405);
    EXPECT_EQ(seen, (std::vector<std::string>{"7:on"}));
}

TEST(router, power_answer_is_deferred_until_the_hook_is_done) {
    fixture f;
    power_done later;
    f.r->set_power_hook([&](const power_request&, power_done done) { later = std::move(done); });
    http_request q{"POST", "/api/v1/nodes/2/power", R"({"action":"cycle"})", "Bearer s3cret",
                   std::nullopt};
    auto first = f.r->handle(q);
    ASSERT_TRUE(static_cast<bool>(first.deferred));
    std::optional<http_response> final;
    first.deferred([&](http_response resp) { final = std::move(resp); });
    EXPECT_FALSE(final.has_value()) << "answered before the action finished";
    ASSERT_TRUE(static_cast<bool>(later));
    later(tl::unexpected(std::string("relay stuck")));
    ASSERT_TRUE(final.has_value());
    EXPECT_EQ(final->status, 502);
    EXPECT_NE(final->body.find("relay stuck"), std::string::npos);
}

TEST(router, up_only_from_the_nodes_own_address) {
    fixture f;
    const auto own = ipv4_address::parse("10.42.0.102");
    const auto other = ipv4_address::parse("10.42.0.103");
    expect_error(f.call("POST", "/api/v1/nodes/2/up", "{}", "", other), 403);
    expect_error(f.call("POST", "/api/v1/nodes/2/up", "{}", "", std::nullopt), 403);
    EXPECT_EQ(f.tracker.state(2).current, diag::stage::off);
    auto r = f.call("POST", "/api/v1/nodes/2/up",
                    R"({"hostname":"node02","kernel":"6.1.21-v8+","uptime":31.5})", "", own);
    ASSERT_EQ(r.status, 200) << r.body;
    auto st = f.tracker.state(2);
    EXPECT_EQ(st.current, diag::stage::up);
    EXPECT_EQ(st.agent_kernel, "6.1.21-v8+");
    auto ups = f.bus.recent({std::nullopt, "agent.up", 0}, 10);
    ASSERT_EQ(ups.size(), 1u);
    EXPECT_EQ(ups[0].position, 2);
    EXPECT_EQ(ups[0].fields["uptime"], 31.5);
    // "self" resolves the node from the caller's address.
    EXPECT_EQ(f.call("POST", "/api/v1/nodes/self/up", "", "", other).status, 200);
    EXPECT_EQ(f.tracker.state(3).current, diag::stage::up);
    // The token also allows it (operators marking a node by hand).
    EXPECT_EQ(f.call("POST", "/api/v1/nodes/1/up", "", "Bearer s3cret", other).status, 200);
    expect_error(f.call("POST", "/api/v1/nodes/2/up", "[1,2]", "", own), 400);
    expect_error(f.call("POST", "/api/v1/nodes/2/up", R"({"hostname":{"a":1}})", "", own), 400);
}

TEST(router, metrics_text) {
    fixture f;
    f.publish(1, "dhcp.discover");
    f.publish(1, "dhcp.drop", {{"reason", "unknown_client"}});
    f.publish(2, "tftp.sent", {{"file", "start4.elf"}, {"bytes", 2000}});
    f.publish(2, "tftp.sent", {{"file", "kernel8.img"}, {"bytes", 3000}});
    auto r = f.call("GET", "/metrics");
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.content_type.find("text/plain"), std::string::npos);
    auto has = [&](const std::string& line) {
        EXPECT_NE(r.body.find(line + "\n"), std::string::npos) << line << "\n" << r.body;
    };
    has("netbootd_dhcp_packets_total{type=\"discover\"} 1");
    has("netbootd_drops_total{source=\"dhcp\",reason=\"unknown_client\"} 1");
    has("netbootd_tftp_transfers_total{result=\"sent\"} 2");
    has("netbootd_tftp_sent_bytes_total 5000");
    has("netbootd_nodes{stage=\"kernel\"} 1");
    has("netbootd_nodes{stage=\"dhcp\"} 1");
    has("netbootd_nodes{stage=\"off\"} 1");
    has("netbootd_events_total{kind=\"tftp.sent\"} 2");
    // Every non-comment line is "name{labels} value".
    std::istringstream in(r.body);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        auto sp = line.rfind(' ');
        ASSERT_NE(sp, std::string::npos) << line;
        EXPECT_NO_THROW((void)std::stod(line.substr(sp + 1))) << line;
        EXPECT_TRUE(line.starts_with("netbootd_")) << line;
    }
}

TEST(router, query_and_time_parsing) {
    auto q = parse_query("a=1&b=x%20y+z&c&=&d=%41");
    ASSERT_TRUE(q);
    EXPECT_EQ((*q)["a"], "1");
    EXPECT_EQ((*q)["b"], "x y z");
    EXPECT_EQ((*q)["c"], "");
    EXPECT_EQ((*q)["d"], "A");
    EXPECT_FALSE(parse_query("a=%4"));
    EXPECT_FALSE(parse_query("a=%g1"));
    const auto now = test::fixed_now;
    EXPECT_EQ(parse_since("10m", now), now - std::chrono::minutes(10));
    auto t = parse_since("2027-01-15T08:00:00.250Z", now);
    ASSERT_TRUE(t);
    EXPECT_EQ(format_time(*t), "2027-01-15T08:00:00.250Z");
    EXPECT_EQ(parse_since("1800000000000", now), now);
    EXPECT_FALSE(parse_since("2027-01-15T08:00:00+02:00", now));
    EXPECT_FALSE(parse_since("soon", now));
}

TEST(router, stream_open_validates) {
    fixture f;
    http_request q{"GET", "/api/v1/events/stream?node=2&kind=tftp.", "", "", std::nullopt};
    EXPECT_TRUE(router::is_stream(q));
    auto s = f.r->open_stream(q);
    ASSERT_TRUE(std::holds_alternative<stream_query>(s));
    EXPECT_EQ(std::get<stream_query>(s).position, 2);
    q.target = "/api/v1/events/stream?node=77";
    ASSERT_TRUE(std::holds_alternative<http_response>(f.r->open_stream(q)));
    EXPECT_EQ(std::get<http_response>(f.r->open_stream(q)).status, 404);
    q.target = "/api/v1/events/stream?x=1";
    EXPECT_EQ(std::get<http_response>(f.r->open_stream(q)).status, 400);
    // Attribution by MAC when the event carries no position.
    event e;
    e.seq = 5;
    e.kind = "tftp.sent";
    e.mac = mac_address::parse("dc:a6:32:00:00:02");
    EXPECT_TRUE(f.r->stream_matches({2, "tftp.", 0}, e));
    EXPECT_FALSE(f.r->stream_matches({3, "tftp.", 0}, e));
    EXPECT_FALSE(f.r->stream_matches({2, "dhcp.", 0}, e));
    EXPECT_FALSE(f.r->stream_matches({2, "", 5}, e));
}

} // namespace
} // namespace netbootd::api
