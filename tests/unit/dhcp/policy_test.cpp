#include "netbootd/dhcp/policy.hpp"

#include <functional>

#include <gtest/gtest.h>

#include "netbootd/dhcp/lease_store.hpp"
#include "netbootd/dhcp/options.hpp"
#include "netbootd/dhcp/pxe.hpp"
#include "spec_packets.hpp"

namespace netbootd::dhcp {
namespace {

using spec::bytes;

const std::string base_config = R"(
cluster:
  name: t
  interface: eth0
  server_ip: 10.42.0.250
  subnet: 10.42.0.0/24
  router: 10.42.0.254
  dns: [10.42.0.250]
  ntp: [10.42.0.251]
  domain: lab
  state_dir: /nonexistent
dhcp:
  mode: full
  pool: 10.42.0.100-10.42.0.101
defaults:
  hostname: "node{position:02}"
  ip: "10.42.0.{position}"
nfs:
  backend: ganesha
  base_root: /srv/roots/base
  roots_dir: /srv/roots
nodes:
  - { position: 1, mac: "b8:27:eb:fc:6a:59", serial: "a2ef5644" }
  - { position: 2, mac: "dc:a6:32:01:36:c2", model: pi4, root: overlay }
  - { position: 3, mac: "2c:cf:67:00:00:04" }
)";

const bytes n1 = {0xb8, 0x27, 0xeb, 0xfc, 0x6a, 0x59};
const bytes n2 = {0xdc, 0xa6, 0x32, 0x01, 0x36, 0xc2};
const bytes n3 = {0x2c, 0xcf, 0x67, 0x00, 0x00, 0x04};
const bytes stranger = {0xb8, 0x27, 0xeb, 0x00, 0x00, 0x99};
const bytes laptop = {0x52, 0x54, 0x00, 0x00, 0x00, 0x01};

const auto t0 = clock::time_point(std::chrono::seconds(1'800'000'000));
constexpr std::uint32_t server = 0x0a2a00fa;

std::string edit(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos)
        text.replace(at, from.size(), to);
    return text;
}

registry make_registry(const std::string& text = base_config) {
    return registry(parse_config(text, "test.yaml"));
}

packet dec(const bytes& b) {
    auto p = decode(b);
    EXPECT_TRUE(p);
    return p ? *p : packet{};
}

std::string ip(const std::optional<ipv4_address>& a) {
    return a ? a->to_string() : "-";
}

TEST(policy, pi3b_rom_offer_is_full_pxe_reply_and_commits) {
    const auto reg = make_registry();
    lease_store leases;
    const auto d = decide(dec(spec::pi3b_rom_discover(n1)), reg, leases, t0);
    ASSERT_TRUE(d.reply) << d.drop_reason;
    const auto& r = *d.reply;
    EXPECT_EQ(r.type(), message_type::offer);
    EXPECT_EQ(r.op, 2);
    EXPECT_EQ(r.hops, 0);
    EXPECT_EQ(r.xid, 0x26f30339u);
    EXPECT_EQ(r.yiaddr.to_string(), "10.42.0.1");
    EXPECT_EQ(r.siaddr.value, server);                                                        // R15
    EXPECT_EQ(r.ip_option(opt::server_id)->value, server);                                    // R15
    EXPECT_EQ(r.text_option(opt::vendor_class), "PXEClient");                                 // R6
    EXPECT_EQ(r.find(opt::vendor_specific)->data, build_option43("Raspberry Pi Boot", true)); // R5
    EXPECT_EQ(r.find(opt::client_guid)->data,
              dec(spec::pi3b_rom_discover(n1)).find(opt::client_guid)->data); // R7
    EXPECT_EQ(r.text_option(opt::tftp_server), "10.42.0.250");
    // R8 order: 53, 54, 51, 1, 28, 3, 6, ..., 60, 97, 43
    std::vector<std::uint8_t> codes;
    for (const auto& o : r.options)
        codes.push_back(o.code);
    EXPECT_EQ(codes, (std::vector<std::uint8_t>{53, 54, 51, 1, 28, 3, 6, 66, 60, 97, 43}));
    EXPECT_EQ(r.find(opt::lease_time)->data, (std::vector<std::uint8_t>{0xff, 0xff, 0xff, 0xff}));
    // R10: committed at OFFER; R12: broadcast.
    ASSERT_EQ(d.changes.size(), 1u);
    EXPECT_EQ(d.changes[0].what, lease_change::kind::commit);
    EXPECT_EQ(d.changes[0].l.ip.to_string(), "10.42.0.1");
    EXPECT_EQ(d.to.how, reply_target::kind::broadcast);
    EXPECT_EQ(d.to.port, 68);
    EXPECT_EQ(d.delay.count(), 0);
}

// One field of the situation changed per row; the expectation names the outcome.
struct row {
    const char* name;
    std::function<std::string()> config;
    std::function<bytes()> request;
    std::function<void(packet&)> tweak;
    std::string want; // "offer 10.42.0.1 pxe", "drop unknown_client", "nak", "ack 10.42.0.2", ...
};

std::string outcome(const decision& d) {
    if (!d.reply)
        return d.drop_reason.empty() ? "none" : "drop " + d.drop_reason;
    const auto& r = *d.reply;
    std::string s(to_string(*r.type()));
    if (r.type() != message_type::nak)
        s += " " + r.yiaddr.to_string();
    if (r.has(opt::vendor_specific))
        s += r.find(opt::vendor_specific)->data.size() == 35 ? " pxe3b" : " pxe";
    if (d.to.how == reply_target::kind::relay)
        s += " relay";
    if (d.to.how == reply_target::kind::unicast)
        s += " unicast";
    if (d.delay.count() > 0)
        s += " delayed";
    return s;
}

TEST(policy, decision_table) {
    const auto base = [] { return base_config; };
    const auto no_tweak = [](packet&) {};
    const std::vector<row> rows = {
        {"3B ROM", base, [] { return spec::pi3b_rom_discover(n1); }, no_tweak,
         "offer 10.42.0.1 pxe3b"},
        {"3B ROM, padding off",
         [] { return edit(base_config, "mode: full", "mode: full\n  pi3b_menu_padding: false"); },
         [] { return spec::pi3b_rom_discover(n1); }, no_tweak, "offer 10.42.0.1 pxe"},
        {"bootcode.bin", base, [] { return spec::pi3_bootcode_discover(n1); }, no_tweak,
         "offer 10.42.0.1 pxe"},
        {"Pi 4", base, [] { return spec::pi4_discover(n2, spec::guid_rpi4_le()); }, no_tweak,
         "offer 10.42.0.2 pxe"},
        {"Pi 5", base, [] { return spec::pi4_discover(n3, spec::guid_rpi5()); }, no_tweak,
         "offer 10.42.0.3 pxe"},
        {"kernel stage: same IP, no PXE", base, [] { return spec::kernel_discover(n2); }, no_tweak,
         "offer 10.42.0.2"},
        {"UEFI stage: same IP, no PXE", base, [] { return spec::uefi_discover(n2); }, no_tweak,
         "offer 10.42.0.2"},
        {"unknown Pi ignored", base, [] { return spec::pi3b_rom_discover(stranger); }, no_tweak,
         "drop unknown_client"},
        {"unknown laptop ignored", base, [] { return spec::kernel_discover(laptop); }, no_tweak,
         "drop unknown_client"},
        {"unknown_clients log: still silent",
         [] { return edit(base_config, "mode: full", "mode: full\n  unknown_clients: log"); },
         [] { return spec::kernel_discover(laptop); }, no_tweak, "drop unknown_client"},
        {"unknown_clients pool",
         [] { return edit(base_config, "mode: full", "mode: full\n  unknown_clients: pool"); },
         [] { return spec::kernel_discover(laptop); }, no_tweak, "offer 10.42.0.100"},
        {"relayed Pi 4", base, [] { return spec::pi4_discover(n2, spec::guid_rpi4_le()); },
         [](packet& p) {
             p.giaddr = *ipv4_address::parse("10.42.0.200");
             p.hops = 1;
         },
         "offer 10.42.0.2 pxe relay"},
        {"too many hops", base, [] { return spec::pi4_discover(n2, spec::guid_rpi4_le()); },
         [](packet& p) { p.hops = 17; }, "drop too_many_hops"},
        {"hlen 0", base, [] { return spec::kernel_discover(n2); }, [](packet& p) { p.hlen = 0; },
         "drop not_ethernet"},
        {"htype 6", base, [] { return spec::kernel_discover(n2); }, [](packet& p) { p.htype = 6; },
         "drop not_ethernet"},
        {"BOOTP (no option 53)", base, [] { return spec::kernel_discover(n2); },
         [](packet& p) { p.options.clear(); }, "drop bootp_unsupported"},
        {"op 2 from us", base, [] { return spec::kernel_discover(n2); },
         [](packet& p) {
             p.op = 2;
             p.set_ip(opt::server_id, ipv4_address{server});
         },
         "drop own_reply"},
        {"request for our address", base,
         [] { return spec::kernel_request(n2, 0x0a2a0002, server); }, no_tweak, "ack 10.42.0.2"},
        {"request for a wrong address", base,
         [] { return spec::kernel_request(n2, 0x0a2a0009, server); }, no_tweak, "nak"},
        {"request to another server", base,
         [] { return spec::kernel_request(n2, 0x0a2a0002, 0x0a2a0001); }, no_tweak,
         "drop selected_other_server"},
        {"init-reboot (no server id)", base,
         [] { return spec::kernel_request(n2, 0x0a2a0002, server); },
         [](packet& p) { p.options.erase(p.options.begin() + 1); }, "ack 10.42.0.2"},
        {"renew (ciaddr, unicast)", base,
         [] { return spec::kernel_request(n2, 0x0a2a0002, server); },
         [](packet& p) {
             p.options.erase(p.options.begin() + 1, p.options.begin() + 3);
             p.ciaddr = ipv4_address{0x0a2a0002};
         },
         "ack 10.42.0.2 unicast"},
        {"request without address", base,
         [] { return spec::kernel_request(n2, 0x0a2a0002, server); },
         [](packet& p) { p.options.erase(p.options.begin() + 2); }, "drop request_without_address"},
        {"proxy: Pi 4 gets PXE only", [] { return edit(base_config, "mode: full", "mode: proxy"); },
         [] { return spec::pi4_discover(n2, spec::guid_rpi4_le()); }, no_tweak,
         "offer 0.0.0.0 pxe"},
        {"proxy: Pi 3 delayed", [] { return edit(base_config, "mode: full", "mode: proxy"); },
         [] { return spec::pi3_bootcode_discover(n1); }, no_tweak, "offer 0.0.0.0 pxe delayed"},
        {"proxy: kernel not answered",
         [] { return edit(base_config, "mode: full", "mode: proxy"); },
         [] { return spec::kernel_discover(n2); }, no_tweak, "drop proxy_not_pi_firmware"},
        {"proxy: no REQUEST answers", [] { return edit(base_config, "mode: full", "mode: proxy"); },
         [] { return spec::kernel_request(n2, 0x0a2a0002, server); }, no_tweak, "drop proxy_mode"},
        {"model other: no PXE menu",
         [] { return edit(base_config, "model: pi4, root", "model: other, root"); },
         [] { return spec::pi4_discover(n2, spec::guid_rpi4_le()); }, no_tweak, "offer 10.42.0.2"},
        {"multicast chaddr", base,
         [] {
             return spec::kernel_discover({0x01, 0, 0x5e, 0, 0, 1});
         },
         no_tweak, "drop bad_chaddr"},
    };
    for (const auto& r : rows) {
        const auto reg = make_registry(r.config());
        lease_store leases;
        auto p = dec(r.request());
        r.tweak(p);
        EXPECT_EQ(outcome(decide(p, reg, leases, t0)), r.want) << r.name;
    }
}

TEST(policy, kernel_stage_gets_node_options) {
    const auto reg = make_registry();
    lease_store leases;
    const auto d = decide(dec(spec::kernel_discover(n2)), reg, leases, t0);
    ASSERT_TRUE(d.reply);
    EXPECT_EQ(d.reply->text_option(opt::hostname), "node02");
    EXPECT_EQ(d.reply->text_option(opt::domain_name), "lab");
    EXPECT_EQ(d.reply->text_option(opt::root_path), "10.42.0.250:/srv/roots/node02");
    EXPECT_EQ(d.reply->ip_option(opt::router)->to_string(), "10.42.0.254");
    EXPECT_FALSE(d.reply->has(opt::ntp)); // not in the kernel's PRL
    EXPECT_FALSE(d.reply->has(opt::vendor_class));
    EXPECT_FALSE(d.reply->has(opt::client_guid));
    EXPECT_TRUE(d.changes.empty()); // static node, not G3: committed at ACK
    EXPECT_EQ(d.nd->position, 2);
}

TEST(policy, proxy_reply_shape) {
    const auto reg = make_registry(edit(base_config, "mode: full", "mode: proxy"));
    lease_store leases;
    const auto d = decide(dec(spec::pi3b_rom_discover(n1)), reg, leases, t0);
    ASSERT_TRUE(d.reply);
    const auto& r = *d.reply;
    EXPECT_EQ(r.flags, packet::broadcast_flag);
    EXPECT_TRUE(r.yiaddr.is_unspecified());
    EXPECT_EQ(r.siaddr.value, server);
    EXPECT_EQ(d.delay, std::chrono::milliseconds(1000));
    std::vector<std::uint8_t> codes;
    for (const auto& o : r.options)
        codes.push_back(o.code);
    EXPECT_EQ(codes, (std::vector<std::uint8_t>{53, 54, 66, 60, 97, 43}));
    EXPECT_TRUE(d.changes.empty());
}

TEST(policy, pool_never_offers_one_address_to_two_clients) {
    const auto reg =
        make_registry(edit(base_config, "mode: full", "mode: full\n  unknown_clients: pool"));
    lease_store leases;
    const bytes a = {0x52, 0x54, 0, 0, 0, 0xa}, b = {0x52, 0x54, 0, 0, 0, 0xb},
                c = {0x52, 0x54, 0, 0, 0, 0xc};
    auto da = decide(dec(spec::kernel_discover(a)), reg, leases, t0);
    for (const auto& ch : da.changes)
        leases.apply(ch, t0);
    auto db = decide(dec(spec::kernel_discover(b)), reg, leases, t0);
    for (const auto& ch : db.changes)
        leases.apply(ch, t0);
    EXPECT_EQ(ip(da.address), "10.42.0.100");
    EXPECT_EQ(ip(db.address), "10.42.0.101");
    // The pool (2 addresses) is full while both offers are held.
    EXPECT_EQ(outcome(decide(dec(spec::kernel_discover(c)), reg, leases, t0)),
              "drop pool_exhausted");
    // a asks again: same address.
    EXPECT_EQ(ip(decide(dec(spec::kernel_discover(a)), reg, leases, t0).address), "10.42.0.100");
    // b cannot take a's address.
    EXPECT_EQ(outcome(decide(dec(spec::kernel_request(b, 0x0a2a0064, server)), reg, leases, t0)),
              "nak");
    // Once the hold expires, c gets one.
    EXPECT_EQ(ip(decide(dec(spec::kernel_discover(c)), reg, leases,
                        t0 + offer_hold + std::chrono::seconds(1))
                     .address),
              "10.42.0.100");
    // a's REQUEST commits a finite lease (pool default 1 h).
    auto ack = decide(dec(spec::kernel_request(a, 0x0a2a0064, server)), reg, leases, t0);
    EXPECT_EQ(outcome(ack), "ack 10.42.0.100");
    ASSERT_EQ(ack.changes.size(), 1u);
    EXPECT_EQ(ack.changes[0].l.expires, t0 + default_pool_lease);
    EXPECT_EQ(ack.reply->find(opt::lease_time)->data,
              (std::vector<std::uint8_t>{0, 0, 0x0e, 0x10}));
    EXPECT_TRUE(ack.reply->has(opt::renewal_time));
}

TEST(policy, release_and_decline) {
    const auto reg =
        make_registry(edit(base_config, "mode: full", "mode: full\n  unknown_clients: pool"));
    lease_store leases;
    const bytes a = {0x52, 0x54, 0, 0, 0, 0xa};
    leases.apply({lease_change::kind::commit,
                  {*mac_address::parse("52:54:00:00:00:0a"), ipv4_address{0x0a2a0064},
                   t0 + std::chrono::hours(1), lease_state::bound}},
                 t0);
    auto rel = dec(spec::kernel_discover(a));
    rel.set(opt::message_type, {7});
    rel.ciaddr = ipv4_address{0x0a2a0064};
    auto d = decide(rel, reg, leases, t0);
    EXPECT_EQ(outcome(d), "none");
    ASSERT_EQ(d.changes.size(), 1u);
    EXPECT_EQ(d.changes[0].what, lease_change::kind::release);

    auto dec_p = dec(spec::kernel_discover(a));
    dec_p.set(opt::message_type, {4});
    dec_p.set_ip(opt::requested_ip, ipv4_address{0x0a2a0064});
    auto dd = decide(dec_p, reg, leases, t0);
    ASSERT_EQ(dd.changes.size(), 2u);
    EXPECT_EQ(dd.changes[1].l.state, lease_state::declined);
}

TEST(policy, foreign_offer_is_reported) {
    const auto reg = make_registry();
    lease_store leases;
    auto p = dec(spec::kernel_discover(laptop));
    p.op = 2;
    p.set(opt::message_type, {2});
    p.set_ip(opt::server_id, *ipv4_address::parse("10.42.0.9"));
    const auto d = decide(p, reg, leases, t0);
    ASSERT_TRUE(d.foreign_server);
    EXPECT_EQ(d.foreign_server->to_string(), "10.42.0.9");
    EXPECT_FALSE(d.reply);
}

TEST(policy, unknown_pi_flagged_for_event) {
    const auto reg = make_registry();
    lease_store leases;
    EXPECT_TRUE(decide(dec(spec::pi3_bootcode_discover(stranger)), reg, leases, t0).unknown_pi);
    EXPECT_FALSE(decide(dec(spec::kernel_discover(laptop)), reg, leases, t0).unknown_pi);
}

TEST(policy, reply_encodes_like_dnsmasq_offer) {
    // Spec R8: with dnsmasq's options (no 66, finite lease) the OFFER is 344 bytes. Ours adds no
    // option the Pi did not ask for beyond 66; check the size and the END/padding rule.
    const auto reg = make_registry(
        edit(base_config, "mode: full", "mode: full\n  option66: false\n  lease_time: 12h"));
    lease_store leases;
    auto d = decide(dec(spec::pi3_bootcode_discover(n1)), reg, leases, t0);
    ASSERT_TRUE(d.reply);
    std::vector<std::uint8_t> out;
    encode_to(out, *d.reply);
    // 240 + 53(3) 54(6) 51(6) 58(6) 59(6) 1(6) 28(6) 3(6) 6(6) 60(11) 97(19) 43(34) 255(1) = 356
    EXPECT_EQ(out.size(), 356u);
    EXPECT_EQ(out.back(), 0xff);
}

} // namespace
} // namespace netbootd::dhcp
