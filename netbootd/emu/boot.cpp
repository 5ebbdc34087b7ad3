#include "netbootd/emu/boot.hpp"

#include "netbootd/emu/dhcp_reply.hpp"
#include "netbootd/emu/frame.hpp"
#include "netbootd/emu/link.hpp"
#include "netbootd/emu/nfs_root.hpp"
#include "netbootd/emu/packet_socket.hpp"
#include "netbootd/emu/tftp_client.hpp"
#include "netbootd/emu/up_call.hpp"
#include "netbootd/nfs/client.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <memory>
#include <random>
#include <sstream>
#include <thread>

namespace netbootd::emu {
namespace {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

std::uint32_t random_u32() {
    static std::mt19937 gen{std::random_device{}()};
    return static_cast<std::uint32_t>(gen());
}

const mac_address broadcast_mac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

struct received_reply {
    dhcp_reply r;
    mac_address eth_dst;
    ipv4_address ip_src;
    clock_type::time_point at;
    ms after_discover{0};
};

/// The server a reply names: option 54, else the reply's IP source address.
ipv4_address server_of(const received_reply& rr) {
    const auto o54 = rr.r.ip_option(54);
    return o54 ? *o54 : rr.ip_src;
}

enum class severity { off, warn, required };

// One firmware-stage DHCP conversation (spec §5.2-§5.5).
struct dhcp_stage {
    std::string name; // "rom", "bootcode", "eeprom": prefixes the check names
    discover_params dp;
    bool pi3 = true; // UDP checksum 0, TTL 128, IP id 0
    int max_discovers = 5;
    ms interval = 5s;
    ms total = 25s;
    pxe_rule rule = pxe_rule::menu;
    bool require_opt60 = false;
    bool reject_hops = false;
    bool allow_pad = true;
    bool g3 = true;
    const bytes* expected43 = nullptr;
    bool accept_r4_or_r5 = false;
    severity q1 = severity::off;
    severity q5 = severity::off;
};

std::string menu_variant(const bytes& o43) {
    if (o43 == expected_opt43_r4())
        return "R4 (plain 17-char menu)";
    if (o43 == expected_opt43_r5())
        return "R5 (3-space menu)";
    return "neither R4 nor R5";
}

bool safe_relative(const std::string& name) {
    if (name.empty() || name.front() == '/')
        return false;
    std::stringstream ss(name);
    std::string part;
    while (std::getline(ss, part, '/'))
        if (part == "..")
            return false;
    return true;
}

class boot_run {
  public:
    explicit boot_run(const boot_options& o) : o_(o) {}
    boot_report run();

  private:
    void say(const std::string& s) {
        if (o_.progress)
            o_.progress(fmt::format("piemu[{} {}] {}", mac_.to_string(), to_string(model_), s));
    }
    bool fail(const std::string& why) {
        if (report_.error.empty())
            report_.error = why;
        say("FAIL: " + why);
        return false;
    }
    bool setup_fail(const std::string& why) {
        report_.setup_error = true;
        return fail(why);
    }
    clock_type::time_point cap(clock_type::time_point t) const { return std::min(t, deadline_); }
    void stage_reached(const std::string& s) {
        if (std::find(report_.stages.begin(), report_.stages.end(), s) == report_.stages.end())
            report_.stages.push_back(s);
        say("stage reached: " + s);
    }

    bool send_dhcp(const bytes& payload, bool pi3);
    std::optional<received_reply> receive_reply(clock_type::time_point until,
                                                const accept_rules& rules);
    void reply_checks(const dhcp_stage& st, const received_reply& rr, bool pxe);
    bool dhcp_firmware(const dhcp_stage& st, std::optional<received_reply>& ip_offer,
                       std::optional<received_reply>& pxe_offer);
    bool configure_ip(ipv4_address ip, const dhcp_reply& mask_source);
    /// dhcp_firmware on a packet socket of its own, closed afterwards (the Pi 3 stages).
    bool dhcp_firmware_on_own_socket(const dhcp_stage& st, std::optional<received_reply>& ip_offer,
                                     std::optional<received_reply>& pxe_offer);
    /// Points the TFTP client at `server` with the generation's habits.
    void use_tftp_server(ipv4_address server, bool send_tsize,
                         std::chrono::milliseconds retransmit);

    bool stage_pi3_rom(bool plus);
    bool stage_pi3_bootcode();
    bool stage_eeprom(bool pi5);
    bool stage_kernel_dhcp();
    bool stage_nfs_root();

    std::string prefix_candidate() const;
    std::uint16_t next_port();
    std::string save_path(const std::string& name) const;
    void record(const file_result& f, bool probe);
    file_result probe(const std::string& name);
    using started_transfer = tl::expected<std::unique_ptr<tftp_transfer>, std::string>;
    /// The TFTP settings of a fetch: the stage's, plus the --drop-ack/--dup-ack stress if armed.
    tftp_settings fetch_settings() const;
    /// Runs a started fetch to its end (or records why it did not start); returns its result.
    file_result complete_fetch(const std::string& name, started_transfer t);
    file_result fetch(const std::string& name, bool keep = false);
    file_result probe_then_fetch(const std::string& name, bool keep = false);
    bool get(const std::string& name, bool required, bool probe_first, file_result* out = nullptr);
    bool get_kernel(const std::vector<std::string>& names, bool probe_first);
    void stress_checks(const file_result& f);
    bool file_phase(const std::vector<std::string>& defaults,
                    const std::vector<std::string>& kernels, bool probe_first);
    void early_terminate_check();
    bool up_call();

    const boot_options& o_;
    boot_report report_;
    model model_ = model::pi4;
    mac_address mac_;
    std::string ifname_;
    int iface_index_ = 0;
    clock_type::time_point deadline_{};
    std::optional<packet_socket> sock_;
    ipv4_address ip_;
    std::optional<ipv4_address> rom_ip_;
    ipv4_address tftp_server_;
    std::string prefix_;
    tftp_settings tftp_;
    enum class port_mode { fixed, incrementing, ephemeral } port_mode_ = port_mode::ephemeral;
    std::uint16_t port_ = 0;
    bool race_ = false;
    bool stress_ = false; // the next fetch carries the --drop-ack/--dup-ack stress
    std::string config_txt_;
    std::string cmdline_txt_;
    std::vector<std::unique_ptr<tftp_transfer>> aborted_;
};

bool boot_run::send_dhcp(const bytes& payload, bool pi3) {
    udp_frame_params f;
    f.src_mac = mac_;
    f.ttl = pi3 ? 128 : 64; // Pi 4/5 TTL is UNCONFIRMED
    f.ip_id = pi3 ? 0 : static_cast<std::uint16_t>(random_u32());
    f.udp_checksum = !pi3;
    const bytes frame = build_udp_frame(f, payload);
    if (auto r = sock_->send(frame); !r)
        return fail(r.error());
    return true;
}

std::optional<received_reply> boot_run::receive_reply(clock_type::time_point until,
                                                      const accept_rules& rules) {
    for (;;) {
        auto frame = sock_->receive(cap(until));
        if (!frame)
            return std::nullopt;
        auto d = parse_udp_frame(*frame);
        if (!d || d->src_port != 67 || d->dst_port != 68)
            continue;
        auto r = parse_reply(d->payload);
        if (!r) {
            say("ignoring a malformed DHCP reply from " + d->src.to_string() + ": " + r.error());
            continue;
        }
        // Replies for other clients (every Pi 3 shares one xid) are none of our business.
        if (r->xid != rules.xid ||
            !std::equal(mac_.bytes.begin(), mac_.bytes.end(), r->chaddr.begin()))
            continue;
        if (auto why = reject_reason(*r, rules)) {
            say("ignoring reply from " + d->src.to_string() + ": " + *why);
            continue;
        }
        return received_reply{std::move(*r), d->eth_dst, d->src, clock_type::now(), 0ms};
    }
}

void boot_run::reply_checks(const dhcp_stage& st, const received_reply& rr, bool pxe) {
    const dhcp_reply& r = rr.r;
    const std::string p = st.name + ".";
    const std::string who = fmt::format("reply from {}", rr.ip_src.to_string());
    auto& c = report_.checks;
    c.add(p + "b_hops_zero", r.hops == 0, fmt::format("{}: hops {}", who, r.hops));
    const auto o54 = r.ip_option(54);
    if (!r.siaddr.is_unspecified())
        c.add(p + "d_siaddr_eq_opt54", o54 && *o54 == r.siaddr,
              fmt::format("{}: siaddr {} opt54 {}", who, r.siaddr.to_string(),
                          o54 ? o54->to_string() : "absent"));
    c.add(p + "g_no_pad_between_options", !r.pad_between_options,
          fmt::format("{}: {}", who, r.pad_between_options ? "option 0 before END" : "no PAD"));
    c.add(p + "h_payload_min_300", r.length >= 300, fmt::format("{}: {} bytes", who, r.length));
    const auto* o43 = r.find(43);
    if (!pxe && !o43)
        return;
    if (st.expected43) {
        bool ok = o43 && o43->data == *st.expected43;
        if (st.accept_r4_or_r5 && o43)
            ok = o43->data == expected_opt43_r4() || o43->data == expected_opt43_r5();
        c.add(p + "a_opt43_bytes", ok,
              o43 ? fmt::format("{}: {} [{}]", who, menu_variant(o43->data), to_hex(o43->data))
                  : who + ": no option 43");
    }
    bytes want97{0};
    want97.insert(want97.end(), st.dp.guid.begin(), st.dp.guid.end());
    const auto* o97 = r.find(97);
    c.add(p + "c_opt97_echo", o97 && o97->data == want97,
          o97 ? fmt::format("{}: {}", who, to_hex(o97->data)) : who + ": no option 97");
    c.add(p + "opt60_pxeclient", opt60_is_pxeclient(r),
          fmt::format("{}: option 60 {}", who, r.find(60) ? "present" : "absent"),
          st.require_opt60 || !st.pi3);
    if (st.q1 != severity::off && o43)
        c.add("rom.q1_menu_3b", menu_matches_3b_rom(o43->data),
              fmt::format("{}: {} (the 3B ROM finds the menu only at offsets 0..len-20)", who,
                          menu_variant(o43->data)),
              st.q1 == severity::required);
    if (r.yiaddr.is_unspecified()) { // a proxyDHCP reply
        c.add(p + "e_proxy_fields", r.flags == 0x8000,
              fmt::format("{}: yiaddr 0, flags {:#06x}", who, r.flags));
        if (st.g3)
            c.add(p + "f_proxy_delay_1s", rr.after_discover >= 1000ms,
                  fmt::format("{}: {} ms after the DISCOVER", who, rr.after_discover.count()),
                  o_.strict);
    }
}

bool boot_run::dhcp_firmware(const dhcp_stage& st, std::optional<received_reply>& ip_offer,
                             std::optional<received_reply>& pxe_offer) {
    const accept_rules rules{st.dp.xid, mac_, st.allow_pad, st.reject_hops};
    const auto stage_deadline = cap(clock_type::now() + st.total);
    int menu_but_not_pxe = 0;
    int sent_count = 0;
    for (int n = 1; n <= st.max_discovers && clock_type::now() < stage_deadline; ++n) {
        sent_count = n;
        const bytes payload = build_discover(st.dp);
        if (!send_dhcp(payload, st.pi3))
            return false;
        const auto sent = clock_type::now();
        say(fmt::format("{}: DISCOVER {}/{} xid {:#010x}, {} bytes", st.name, n, st.max_discovers,
                        st.dp.xid, payload.size()));
        const auto attempt_end = std::min(sent + st.interval, stage_deadline);
        while (auto rr = receive_reply(attempt_end, rules)) {
            rr->after_discover = std::chrono::duration_cast<ms>(rr->at - sent);
            if (rr->r.message_type() != 2) {
                say(fmt::format("{}: ignoring DHCP message type {} from {}", st.name,
                                *rr->r.message_type(), rr->ip_src.to_string()));
                continue;
            }
            const bool pxe = is_pxe(rr->r, st.rule, st.require_opt60);
            if (!pxe && rr->r.find(43))
                ++menu_but_not_pxe;
            say(fmt::format("{}: OFFER from {} yiaddr {} siaddr {}{} after {} ms", st.name,
                            rr->ip_src.to_string(), rr->r.yiaddr.to_string(),
                            rr->r.siaddr.to_string(), pxe ? " [PXE]" : "",
                            rr->after_discover.count()));
            reply_checks(st, *rr, pxe);
            if (!rr->r.yiaddr.is_unspecified() && !ip_offer)
                ip_offer = *rr;
            if (pxe && !pxe_offer)
                pxe_offer = *rr;
            if (ip_offer && pxe_offer)
                break;
        }
        if (ip_offer && pxe_offer)
            break;
    }
    if (!ip_offer || !pxe_offer) {
        std::string why = !ip_offer && !pxe_offer ? "no usable OFFER"
                          : !ip_offer             ? "no OFFER with an address"
                                                  : "no OFFER with valid PXE boot info";
        if (!pxe_offer && menu_but_not_pxe > 0)
            why += st.rule == pxe_rule::rom_3b
                       ? " (option 43 fails the 3B ROM's menu check, Q1: send the R5 variant)"
                       : " (option 43 or option 60 not accepted)";
        return fail(fmt::format(
            "{}: {} after {} DISCOVER{}{}", st.name, why, sent_count, sent_count == 1 ? "" : "s",
            clock_type::now() >= deadline_ ? " (overall --timeout reached)" : ""));
    }
    if (st.q5 != severity::off) {
        const bool proxy_first =
            pxe_offer->r.yiaddr.is_unspecified() && pxe_offer->at < ip_offer->at;
        report_.checks.add(st.name + ".q5_ip_before_proxy", !proxy_first,
                           proxy_first
                               ? "the proxy reply came before the address (the 3B ROM hangs)"
                               : "address reply first (or one combined reply)",
                           st.q5 == severity::required);
    }
    return true;
}

bool boot_run::configure_ip(ipv4_address ip, const dhcp_reply& mask_source) {
    int len = 24;
    if (auto m = mask_source.ip_option(1)) {
        if (auto l = prefix_length(*m); l && *l > 0 && *l < 32)
            len = *l;
    }
    if (auto r = set_address(ifname_, ip, len); !r)
        return fail("configuring the address: " + r.error());
    ip_ = ip;
    report_.ip = ip.to_string();
    say(fmt::format("configured {}/{} on {}", ip.to_string(), len, ifname_));
    return true;
}

std::string boot_run::prefix_candidate() const {
    switch (o_.prefix) {
    case prefix_mode::serial:
        return format_serial(o_.serial) + "/";
    case prefix_mode::mac:
        return mac_.to_dashed() + "/";
    case prefix_mode::str:
        return o_.prefix_str;
    }
    return "";
}

std::uint16_t boot_run::next_port() {
    switch (port_mode_) {
    case port_mode::fixed:
        return port_;
    case port_mode::incrementing:
        return port_++;
    case port_mode::ephemeral:
        return 0;
    }
    return 0;
}

std::string boot_run::save_path(const std::string& name) const {
    if (o_.save_dir.empty() || !safe_relative(name))
        return {};
    return o_.save_dir + "/" + name;
}

void boot_run::record(const file_result& f, bool probe_only) {
    report_.files.push_back(f);
    auto& c = report_.checks;
    std::string line = fmt::format("tftp {} {} from port {}: {}", probe_only ? "probe" : "fetch",
                                   f.name, f.local_port, to_string(f.outcome));
    if (f.outcome == file_outcome::fetched || f.outcome == file_outcome::probed)
        line += fmt::format(" ({} bytes{})", f.bytes,
                            f.blksize ? fmt::format(", blksize {}", *f.blksize) : "");
    if (!f.detail.empty())
        line += " - " + f.detail;
    say(line);
    if (f.server_port != 0)
        c.add("tftp.reply_from_new_port", f.server_port != tftp_.server_port,
              fmt::format("{}: server answered from port {}", f.name, f.server_port));
    if (f.outcome == file_outcome::not_found)
        c.add("tftp.not_found_fast", f.first_reply_after < 100ms,
              fmt::format("{}: ERROR 1 after {} ms", f.name, f.first_reply_after.count()), false);
    if (f.outcome == file_outcome::failed && f.error_code != 0)
        c.add("tftp.errors_are_not_found", false, f.name + ": " + f.detail);
    if (!f.unrequested_options.empty()) {
        std::string names;
        for (const auto& n : f.unrequested_options)
            names += (names.empty() ? "" : ",") + n;
        c.add("tftp.oack_only_requested", false, f.name + ": " + names);
    } else if (f.oack) {
        c.add("tftp.oack_only_requested", true, "");
    }
    if (f.outcome == file_outcome::fetched && tftp_.send_tsize) {
        c.add("tftp.oack_tsize_matches", f.tsize && *f.tsize == f.bytes,
              fmt::format("{}: tsize {} received {}", f.name,
                          f.tsize ? std::to_string(*f.tsize) : "absent", f.bytes));
    }
    if (f.duplicates > 0)
        c.add("tftp.no_duplicate_data", false,
              fmt::format("{}: {} duplicate DATA blocks", f.name, f.duplicates), false);
}

file_result boot_run::probe(const std::string& name) {
    auto t = tftp_transfer::start(tftp_, name, next_port());
    if (!t) {
        file_result f;
        f.name = name;
        f.detail = t.error();
        record(f, true);
        return f;
    }
    if ((*t)->until_first_data(deadline_)) {
        (*t)->abort_early();
        const file_result f = (*t)->result();
        aborted_.push_back(std::move(*t));
        record(f, true);
        return f;
    }
    record((*t)->result(), true);
    return (*t)->result();
}

tftp_settings boot_run::fetch_settings() const {
    tftp_settings s = tftp_;
    if (stress_) {
        s.drop_ack_block = o_.drop_ack;
        s.dup_ack_block = o_.dup_ack;
    }
    return s;
}

file_result boot_run::complete_fetch(const std::string& name, started_transfer t) {
    if (!t) {
        file_result f;
        f.name = name;
        f.detail = t.error();
        record(f, false);
        return f;
    }
    if ((*t)->until_first_data(deadline_))
        (*t)->run_to_end(deadline_);
    record((*t)->result(), false);
    return (*t)->result();
}

file_result boot_run::fetch(const std::string& name, bool keep) {
    return complete_fetch(
        name, tftp_transfer::start(fetch_settings(), name, next_port(), save_path(name), keep));
}

file_result boot_run::probe_then_fetch(const std::string& name, bool keep) {
    if (!race_) {
        const file_result pr = probe(name);
        if (pr.outcome != file_outcome::probed)
            return pr;
        return fetch(name, keep);
    }
    // The RRQ race (firmware #1700): the fetch RRQ goes out from a new port before the probe is
    // aborted, so the server holds two transfers of the same file for one client (T4).
    auto p = tftp_transfer::start(tftp_, name, next_port());
    if (!p) {
        file_result f;
        f.name = name;
        f.detail = p.error();
        record(f, true);
        return f;
    }
    if (!(*p)->until_first_data(deadline_)) {
        record((*p)->result(), true);
        return (*p)->result();
    }
    auto t = tftp_transfer::start(fetch_settings(), name, next_port(), save_path(name), keep);
    (*p)->abort_early();
    record((*p)->result(), true);
    aborted_.push_back(std::move(*p));
    return complete_fetch(name, std::move(t));
}

bool boot_run::get(const std::string& name, bool required, bool probe_first, file_result* out) {
    const bool is_cmdline = name.ends_with("cmdline.txt");
    const bool keep = name.ends_with("config.txt") || is_cmdline;
    file_result f = probe_first ? probe_then_fetch(name, keep) : fetch(name, keep);
    if (keep && f.outcome == file_outcome::fetched)
        (is_cmdline ? cmdline_txt_ : config_txt_) = f.content;
    if (out)
        *out = f;
    if (f.outcome == file_outcome::fetched || !required)
        return true;
    return fail(fmt::format("required file {}: {}{}", name, to_string(f.outcome),
                            f.detail.empty() ? "" : " (" + f.detail + ")"));
}

bool boot_run::get_kernel(const std::vector<std::string>& default_names, bool probe_first) {
    // `kernel=` in config.txt replaces the firmware's own list: it asks for that file only.
    const auto named = kernel_from_config(config_txt_);
    const std::vector<std::string> names =
        named.empty() ? default_names : std::vector<std::string>{named};
    // The firmware picks the first kernel that exists; the last name is the one it insists on.
    std::string name = prefix_ + names.back();
    bool probed = false;
    for (std::size_t i = 0; i + 1 < names.size(); ++i) {
        if (probe(prefix_ + names[i]).outcome == file_outcome::probed) {
            name = prefix_ + names[i];
            probed = true;
            break;
        }
    }
    stress_ = o_.drop_ack.has_value() || o_.dup_ack.has_value();
    file_result f;
    const bool ok = get(name, true, probe_first && !probed, &f);
    stress_ = false;
    if (!ok)
        return false;
    stress_checks(f);
    stage_reached("kernel");
    return true;
}

void boot_run::stress_checks(const file_result& f) {
    auto& c = report_.checks;
    if (o_.drop_ack)
        c.add("tftp.stress_server_retransmits_after_lost_ack",
              f.ack_dropped && f.server_retransmitted,
              !f.ack_dropped ? fmt::format("{} has no block {}", f.name, *o_.drop_ack)
              : f.server_retransmitted
                  ? fmt::format("{}: DATA {} re-sent after its ACK was withheld", f.name,
                                *o_.drop_ack)
                  : fmt::format("{}: {}", f.name, f.detail));
    if (o_.dup_ack)
        c.add("tftp.stress_no_resend_on_duplicate_ack", f.ack_duplicated && f.duplicates == 0,
              !f.ack_duplicated ? fmt::format("{} has no block {}", f.name, *o_.dup_ack)
                                : fmt::format("{}: ACK {} sent twice, {} duplicate DATA blocks",
                                              f.name, *o_.dup_ack, f.duplicates));
}

bool boot_run::file_phase(const std::vector<std::string>& defaults,
                          const std::vector<std::string>& kernels, bool probe_first) {
    if (o_.files) {
        for (const auto& entry : *o_.files) {
            const bool optional = entry.ends_with("?");
            const std::string name = optional ? entry.substr(0, entry.size() - 1) : entry;
            const bool kernel =
                name.rfind("kernel", 0) == 0 || name.find("/kernel") != std::string::npos;
            stress_ = kernel && (o_.drop_ack || o_.dup_ack);
            file_result f;
            const bool ok = get(prefix_ + name, !optional, probe_first, &f);
            stress_ = false;
            if (!ok)
                return false;
            if (kernel && f.outcome == file_outcome::fetched) {
                stress_checks(f);
                stage_reached("kernel");
            }
        }
        stage_reached("firmware");
        return true;
    }
    for (const auto& entry : defaults) {
        const bool optional = entry.ends_with("?");
        const std::string name = optional ? entry.substr(0, entry.size() - 1) : entry;
        if (!get(prefix_ + name, !optional, probe_first))
            return false;
    }
    if (!get_kernel(kernels, probe_first))
        return false;
    for (const auto& initrd : initramfs_from_config(config_txt_))
        if (!get(prefix_ + initrd, true, probe_first))
            return false;
    return true;
}

void boot_run::early_terminate_check() {
    if (aborted_.empty())
        return;
    // Give the server time for at least one retransmit timeout (dnsmasq: 2 s) after the last
    // "Early terminate"; anything arriving on an aborted transfer's port more than 1 s after the
    // abort is a retransmission the server should not have sent (T3).
    clock_type::time_point last{};
    for (const auto& t : aborted_)
        last = std::max(last, t->aborted_at());
    const auto until = cap(last + 3000ms);
    if (clock_type::now() < until)
        std::this_thread::sleep_until(until);
    int late = 0;
    std::string which;
    for (const auto& t : aborted_) {
        const int n = t->late_packets(1000ms);
        if (n > 0 && which.empty())
            which = t->result().name;
        late += n;
    }
    report_.checks.add(
        "tftp.no_retransmit_after_early_terminate", late == 0,
        late == 0 ? fmt::format("{} probes aborted, nothing resent", aborted_.size())
                  : fmt::format("{} packets after Early terminate (first: {})", late, which));
    aborted_.clear();
}

bool boot_run::dhcp_firmware_on_own_socket(const dhcp_stage& st,
                                           std::optional<received_reply>& ip_offer,
                                           std::optional<received_reply>& pxe_offer) {
    port68_sink sink;
    auto s = packet_socket::open(iface_index_);
    if (!s)
        return setup_fail(s.error());
    sock_ = std::move(*s);
    const bool ok = dhcp_firmware(st, ip_offer, pxe_offer);
    sock_.reset();
    return ok;
}

void boot_run::use_tftp_server(ipv4_address server, bool send_tsize,
                               std::chrono::milliseconds retransmit) {
    tftp_server_ = server;
    report_.tftp_server = server.to_string();
    tftp_ = {};
    tftp_.server = server;
    tftp_.send_tsize = send_tsize;
    tftp_.rrq_retransmit = retransmit;
    tftp_.ack_retransmit = retransmit;
    tftp_.file_timeout = o_.file_timeout;
}

bool boot_run::stage_pi3_rom(bool plus) {
    model_ = plus ? model::pi3bplus_rom : model::pi3b_rom;
    dhcp_stage st;
    st.name = "rom";
    const opt97_style style =
        o_.style && o_.start == model_ ? *o_.style : default_opt97_style(model_);
    st.dp = {mac_, pi3_xid, plus ? o_.prl_3bplus.value_or(prl_kind::bootcode14) : prl_kind::rom12,
             option97_guid(style, mac_, o_.serial, 0)};
    st.pi3 = true;
    st.max_discovers = 5;
    st.interval = 5s;
    st.total = 25s;
    st.require_opt60 = o_.strict;
    st.g3 = true;
    if (!plus) {
        st.rule = o_.strict ? pxe_rule::rom_3b : pxe_rule::menu;
        st.reject_hops = true; // Q8
        st.expected43 = &expected_opt43_r5();
        st.accept_r4_or_r5 = !o_.strict;
        st.q1 = o_.strict ? severity::required : severity::warn;
        st.q5 = o_.strict ? severity::required : severity::warn;
    } else {
        // R4 is what the 3B+ ROM is known to accept; servers that key the 3-space variant on the
        // B8:27:EB OUI (the beta-tester server) send it R5, which its fixed search also finds.
        st.expected43 = &expected_opt43_r4();
        st.accept_r4_or_r5 = true;
        st.q5 = o_.strict ? severity::warn : severity::off;
    }
    std::optional<received_reply> ip_offer, pxe_offer;
    if (!dhcp_firmware_on_own_socket(st, ip_offer, pxe_offer))
        return false;
    stage_reached("dhcp");
    say("rom: no DHCPREQUEST (the ROM uses the OFFERed address straight away)");
    if (!configure_ip(ip_offer->r.yiaddr, ip_offer->r))
        return false;
    rom_ip_ = ip_;
    use_tftp_server(server_of(*pxe_offer), false, 1s);
    if (!plus)
        report_.checks.add("rom.q10_siaddr_is_opt54",
                           pxe_offer->r.siaddr.is_unspecified() ||
                               pxe_offer->r.siaddr == tftp_server_,
                           fmt::format("siaddr {} opt54 {}", pxe_offer->r.siaddr.to_string(),
                                       tftp_server_.to_string()),
                           o_.strict);
    port_mode_ = plus ? port_mode::incrementing : port_mode::fixed;
    port_ = plus ? 49153 : 49152;
    race_ = false;
    file_result boot;
    if (!get("bootcode.bin", true, false, &boot))
        return false;
    report_.checks.add("rom.no_oack_without_options", !boot.oack,
                       boot.oack ? "server sent an OACK to an option-less RRQ" : "DATA 1 directly");
    const file_result sig = fetch("bootsig.bin");
    report_.checks.add("rom.bootsig_not_found", sig.outcome == file_outcome::not_found,
                       fmt::format("bootsig.bin: {}", to_string(sig.outcome)),
                       sig.outcome == file_outcome::failed);
    return true;
}

bool boot_run::stage_pi3_bootcode() {
    model_ = model::pi3_bootcode;
    dhcp_stage st;
    st.name = "bootcode";
    const opt97_style style =
        o_.style && o_.start == model::pi3_bootcode ? *o_.style : opt97_style::serial4;
    st.dp = {mac_, pi3_xid, prl_kind::bootcode14, option97_guid(style, mac_, o_.serial, 0)};
    st.pi3 = true;
    st.max_discovers = 12; // the "Sending DHCP request" loop stops after about a minute
    st.interval = 5s;
    st.total = 60s;
    st.require_opt60 = o_.strict;
    st.expected43 = &expected_opt43_r4();
    st.accept_r4_or_r5 = true; // a server keyed on the OUI sends the 3B's R5 here too
    st.q5 = o_.strict ? severity::warn : severity::off;
    std::optional<received_reply> ip_offer, pxe_offer;
    if (!dhcp_firmware_on_own_socket(st, ip_offer, pxe_offer))
        return false;
    stage_reached("dhcp");
    if (rom_ip_)
        report_.checks.add("bootcode.same_ip_as_rom", ip_offer->r.yiaddr == *rom_ip_,
                           fmt::format("ROM {} bootcode {}", rom_ip_->to_string(),
                                       ip_offer->r.yiaddr.to_string()));
    if (!configure_ip(ip_offer->r.yiaddr, ip_offer->r))
        return false;
    use_tftp_server(server_of(*pxe_offer), true, 1s);
    port_mode_ = port_mode::incrementing;
    port_ = 49153;
    race_ = o_.strict;

    const std::string candidate = prefix_candidate();
    const file_result pr = probe(candidate + "start.elf");
    if (pr.outcome == file_outcome::probed)
        prefix_ = candidate;
    else if (pr.outcome == file_outcome::not_found)
        prefix_.clear();
    else
        return fail("prefix probe " + pr.name + ": " + pr.detail);
    report_.prefix = prefix_;
    say(fmt::format("bootcode: prefix '{}'", prefix_));
    if (o_.files) {
        const bool ok = file_phase({}, {}, true);
        early_terminate_check();
        return ok;
    }
    for (const char* name : {"autoboot.txt", "config.txt", "recovery.elf"})
        if (!get(prefix_ + name, false, true))
            return false;
    if (!get(prefix_ + "start.elf", true, true) || !get(prefix_ + "fixup.dat", true, true))
        return false;
    stage_reached("firmware");

    // start.elf's own TFTP phase (§3.3).
    model_ = model::pi3_bootcode;
    const std::string dtb = !o_.dtb.empty()                   ? o_.dtb
                            : o_.start == model::pi3bplus_rom ? "bcm2710-rpi-3-b-plus.dtb"
                                                              : "bcm2710-rpi-3-b.dtb";
    probe(prefix_ + "dt-blob.bin");
    if (!file_phase({"config.txt?", dtb, "cmdline.txt?"}, {"kernel8.img", "kernel7.img"}, true))
        return false;
    early_terminate_check();
    return true;
}

bool boot_run::stage_eeprom(bool pi5) {
    model_ = pi5 ? model::pi5 : model::pi4;
    dhcp_stage st;
    st.name = "eeprom";
    const opt97_style style = o_.style.value_or(default_opt97_style(model_));
    st.dp = {mac_, random_u32(), prl_kind::eeprom14,
             option97_guid(style, mac_, o_.serial, o_.boardrev.value_or(default_boardrev(model_)))};
    st.pi3 = false;
    st.interval = 4s; // DHCP_REQ_TIMEOUT
    st.total = 45s;   // DHCP_TIMEOUT
    st.max_discovers = 12;
    st.require_opt60 = true;
    st.g3 = false;
    st.expected43 = &expected_opt43_r4();
    const auto dhcp_deadline = cap(clock_type::now() + st.total);
    std::optional<received_reply> ip_offer, pxe_offer, ack;
    {
        port68_sink sink;
        auto s = packet_socket::open(iface_index_);
        if (!s)
            return setup_fail(s.error());
        sock_ = std::move(*s);
        if (!dhcp_firmware(st, ip_offer, pxe_offer)) {
            sock_.reset();
            return false;
        }
        const ipv4_address server = server_of(*ip_offer);
        const accept_rules rules{st.dp.xid, mac_, true, false};
        while (!ack && clock_type::now() < dhcp_deadline) {
            const bytes req = build_eeprom_request(st.dp, ip_offer->r.yiaddr, server);
            if (!send_dhcp(req, false)) {
                sock_.reset();
                return false;
            }
            say(fmt::format("eeprom: REQUEST {} from server {}", ip_offer->r.yiaddr.to_string(),
                            server.to_string()));
            const auto until = std::min(clock_type::now() + st.interval, dhcp_deadline);
            while (auto rr = receive_reply(until, rules)) {
                const auto type = rr->r.message_type();
                const auto sid = rr->r.ip_option(54);
                if (sid && *sid != server)
                    continue; // e.g. a proxy's late OFFER
                if (type == 6) {
                    sock_.reset();
                    return fail("eeprom: DHCPNAK from " + rr->ip_src.to_string());
                }
                if (type != 5)
                    continue;
                ack = std::move(*rr);
                break;
            }
        }
        sock_.reset();
    }
    if (!ack)
        return fail("eeprom: no DHCPACK within DHCP_TIMEOUT (45 s)");
    say(fmt::format("eeprom: ACK {} from {}", ack->r.yiaddr.to_string(), ack->ip_src.to_string()));
    report_.checks.add(
        "eeprom.ack_same_ip", ack->r.yiaddr == ip_offer->r.yiaddr,
        fmt::format("OFFER {} ACK {}", ip_offer->r.yiaddr.to_string(), ack->r.yiaddr.to_string()));
    reply_checks(st, *ack, is_pxe(ack->r, pxe_rule::menu, true));
    stage_reached("dhcp");
    if (!configure_ip(ack->r.yiaddr, ack->r.find(1) ? ack->r : ip_offer->r))
        return false;

    // TFTP server: TFTP_IP > option 66 (dotted quad) > siaddr > option 54 of the PXE reply.
    std::optional<ipv4_address> server;
    std::string why;
    if (o_.tftp_ip) {
        server = o_.tftp_ip;
        why = "TFTP_IP";
    }
    for (const auto* r : {&pxe_offer->r, &ack->r, &ip_offer->r}) {
        if (server)
            break;
        if (const auto* o66 = r->find(66)) {
            const std::string text(o66->data.begin(), o66->data.end());
            const auto a = ipv4_address::parse(text);
            report_.checks.add("eeprom.opt66_dotted_quad", a.has_value(),
                               fmt::format("option 66 '{}'", text), o_.strict);
            if (a) {
                server = a;
                why = "option 66";
            }
        }
    }
    if (!server && !pxe_offer->r.siaddr.is_unspecified()) {
        server = pxe_offer->r.siaddr;
        why = "siaddr";
    }
    if (!server) {
        server = server_of(*pxe_offer);
        why = "option 54";
    }
    use_tftp_server(*server, true, 2s);
    say(fmt::format("eeprom: TFTP server {} (from {})", tftp_server_.to_string(), why));
    tftp_.blksize = o_.blksize.value_or(pi5 ? 1468 : 1024);
    port_mode_ = port_mode::ephemeral;
    race_ = false;

    // Prefix decision (§3.4; Pi 5 also probes config.txt, §5.6).
    const std::string candidate = prefix_candidate();
    std::vector<std::string> prefix_probes = {"start4.elf", "start.elf"};
    if (pi5)
        prefix_probes.insert(prefix_probes.begin(), "config.txt");
    prefix_.clear();
    for (const auto& n : prefix_probes) {
        const file_result pr = probe(candidate + n);
        if (pr.outcome == file_outcome::probed) {
            prefix_ = candidate;
            break;
        }
        if (pr.outcome == file_outcome::failed)
            return fail("prefix probe " + pr.name + ": " + pr.detail);
    }
    report_.prefix = prefix_;
    say(fmt::format("eeprom: prefix '{}'", prefix_));
    if (o_.files) {
        const bool ok = file_phase({}, {}, !pi5);
        early_terminate_check();
        return ok;
    }

    if (pi5) {
        model_ = model::pi5;
        const std::string dtb = o_.dtb.empty() ? "bcm2712-rpi-5-b.dtb" : o_.dtb;
        if (!get(prefix_ + "config.txt", false, false) || !get(prefix_ + dtb, true, false))
            return false;
        stage_reached("firmware");
        if (!file_phase({"overlays/overlay_map.dtb?", "cmdline.txt?"},
                        {"kernel_2712.img", "kernel8.img"}, false))
            return false;
        early_terminate_check();
        return true;
    }

    file_result cfg;
    if (!get(prefix_ + "config.txt", false, false, &cfg))
        return false;
    if (cfg.outcome == file_outcome::fetched && cfg.bytes > 0)
        report_.checks.add("eeprom.q13_blksize_oack", cfg.blksize.has_value(),
                           cfg.blksize ? fmt::format("config.txt OACK blksize {}", *cfg.blksize)
                                       : "config.txt OACK without blksize: a Pi 4 ignores it",
                           o_.strict);
    for (const char* n : {"pieeprom.sig", "vl805.sig", "recover4.elf", "fixup4rc.dat",
                          "recovery.elf", "fixup_rc.dat"})
        probe(prefix_ + n);
    if (!get(prefix_ + "start4.elf", true, false) || !get(prefix_ + "fixup4.dat", true, false))
        return false;
    stage_reached("firmware");
    const std::string dtb = o_.dtb.empty() ? "bcm2711-rpi-4-b.dtb" : o_.dtb;
    if (!file_phase({"config.txt?", dtb, "overlays/overlay_map.dtb?", "cmdline.txt?"},
                    {"kernel8.img", "kernel7l.img"}, true))
        return false;
    early_terminate_check();
    return true;
}

bool boot_run::stage_kernel_dhcp() {
    model_ = model::kernel_dhcp;
    const std::uint32_t xid = random_u32();
    const accept_rules rules{xid, mac_, true, false};
    const auto stage_deadline = cap(clock_type::now() + 30s);
    std::optional<received_reply> offer, ack;
    port68_sink sink;
    auto s = packet_socket::open(iface_index_);
    if (!s)
        return setup_fail(s.error());
    sock_ = std::move(*s);
    auto& c = report_.checks;
    auto frame_checks = [&](const received_reply& rr, const char* what) {
        c.add("kernel.no_opt43", rr.r.find(43) == nullptr,
              fmt::format("{} from {}: option 43 {}", what, rr.ip_src.to_string(),
                          rr.r.find(43) ? "present" : "absent"));
        c.add("kernel.frame_to_us", rr.eth_dst == mac_ || rr.eth_dst == broadcast_mac,
              fmt::format("{} to {}", what, rr.eth_dst.to_string()));
        c.add("kernel.payload_min_300", rr.r.length >= 300,
              fmt::format("{}: {} bytes", what, rr.r.length));
    };
    for (int n = 1; n <= 8 && !offer && clock_type::now() < stage_deadline; ++n) {
        if (!send_dhcp(build_kernel_discover(mac_, xid), false))
            return false;
        say(fmt::format("kernel: DISCOVER {} xid {:#010x} (Linux ipconfig)", n, xid));
        const auto until = std::min(clock_type::now() + 4s, stage_deadline);
        while (auto rr = receive_reply(until, rules)) {
            if (rr->r.message_type() == 2) {
                offer = std::move(*rr);
                break;
            }
        }
    }
    if (!offer) {
        sock_.reset();
        return fail("kernel: no OFFER to the kernel's DHCP");
    }
    frame_checks(*offer, "OFFER");
    const ipv4_address server = server_of(*offer);
    for (int n = 1; n <= 8 && !ack && clock_type::now() < stage_deadline; ++n) {
        if (!send_dhcp(build_kernel_request(mac_, xid, offer->r.yiaddr, server), false))
            return false;
        say(fmt::format("kernel: REQUEST {} from {}", offer->r.yiaddr.to_string(),
                        server.to_string()));
        const auto until = std::min(clock_type::now() + 4s, stage_deadline);
        while (auto rr = receive_reply(until, rules)) {
            const auto t = rr->r.message_type();
            if (t == 6) {
                sock_.reset();
                return fail("kernel: DHCPNAK");
            }
            if (t == 5) {
                ack = std::move(*rr);
                break;
            }
        }
    }
    sock_.reset();
    if (!ack)
        return fail("kernel: no DHCPACK");
    frame_checks(*ack, "ACK");
    const std::optional<ipv4_address> expected =
        !ip_.is_unspecified() ? std::optional<ipv4_address>(ip_) : o_.expect_ip;
    if (expected)
        c.add(
            "kernel.same_ip_as_firmware", ack->r.yiaddr == *expected,
            fmt::format("firmware {} kernel {}", expected->to_string(), ack->r.yiaddr.to_string()));
    std::string root;
    if (const auto* o17 = ack->r.find(17))
        root.assign(o17->data.begin(), o17->data.end());
    say(fmt::format("kernel: ACK {}{}", ack->r.yiaddr.to_string(),
                    root.empty() ? "" : " root-path " + root));
    if (ip_.is_unspecified() && !configure_ip(ack->r.yiaddr, ack->r))
        return false;
    stage_reached("kernel-dhcp");
    return true;
}

bool boot_run::stage_nfs_root() {
    const auto target = nfsroot_from_cmdline(cmdline_txt_, tftp_server_);
    if (!target)
        return fail(cmdline_txt_.empty() ? "nfs-root: no cmdline.txt was fetched"
                                         : "nfs-root: cmdline.txt has no usable nfsroot=");
    say(fmt::format("nfs-root: mounting {}:{} over NFSv3", target->server, target->path));
    // The kernel retries its nfsroot mount; so does this stage, until the overall deadline, since
    // the export may be a reload behind the boot.
    std::string last_error;
    for (int attempt = 1; attempt <= 120 && clock_type::now() < deadline_; ++attempt) {
        auto session = nfs::nfs_client::mount(target->server, target->path, 3s);
        if (session) {
            auto text = session->read_small("/etc/hostname", 255);
            if (!text)
                return fail("nfs-root: read /etc/hostname: " + text.error());
            const auto read = text->substr(0, text->find('\n'));
            const auto expected = cmdline_value(cmdline_txt_, "hostname");
            report_.checks.add("nfs.hostname_matches", expected.empty() || read == expected,
                               fmt::format("read '{}', cmdline.txt hostname '{}'", read, expected));
            report_.checks.add("nfs.has_init", session->exists("/sbin/init"), "/sbin/init");
            say(fmt::format("nfs-root: /etc/hostname is '{}'", read));
            stage_reached("nfs-root");
            return true;
        }
        last_error = session.error().message;
        say(fmt::format("nfs-root: mount attempt {}: {}", attempt, last_error));
        if (clock_type::now() + 1s >= deadline_)
            break;
        std::this_thread::sleep_for(1s);
    }
    return fail("nfs-root: mount " + target->server + ":" + target->path + ": " + last_error);
}

bool boot_run::up_call() {
    auto url = parse_http_url(o_.up_url);
    if (!url)
        return fail("--up-url: " + url.error());
    const nlohmann::json body{
        {"mac", mac_.to_string()}, {"ip", report_.ip},         {"serial", format_serial(o_.serial)},
        {"model", report_.model},  {"stages", report_.stages}, {"source", "netbootd-piemu"}};
    const auto left = std::chrono::duration_cast<ms>(deadline_ - clock_type::now());
    auto status = http_post_json(*url, body, o_.up_token, std::clamp(left, ms(100), ms(10000)));
    if (!status)
        return fail("up call to " + o_.up_url + ": " + status.error());
    say(fmt::format("up call to {}: HTTP {}", o_.up_url, *status));
    if (*status < 200 || *status >= 300)
        return fail(fmt::format("up call to {}: HTTP {}", o_.up_url, *status));
    stage_reached("up");
    return true;
}

boot_report boot_run::run() {
    model_ = o_.start;
    report_.model = std::string(to_string(o_.start));
    deadline_ = clock_type::now() + o_.timeout;
    ifname_ = o_.iface;
    auto info = query_iface(ifname_);
    if (!info) {
        report_.error = info.error();
        report_.setup_error = true;
        return report_;
    }
    mac_ = o_.mac.value_or(info->mac);
    report_.mac = mac_.to_string();
    auto prepared = prepare_iface(ifname_, mac_);
    if (!prepared) {
        report_.error = "preparing " + ifname_ + ": " + prepared.error();
        report_.setup_error = true;
        return report_;
    }
    iface_index_ = prepared->index;
    bool ok = false;
    switch (o_.start) {
    case model::pi3b_rom:
        ok = stage_pi3_rom(false) && stage_pi3_bootcode();
        break;
    case model::pi3bplus_rom:
        ok = stage_pi3_rom(true) && stage_pi3_bootcode();
        break;
    case model::pi3_bootcode:
        ok = stage_pi3_bootcode();
        break;
    case model::pi4:
        ok = stage_eeprom(false);
        break;
    case model::pi5:
        ok = stage_eeprom(true);
        break;
    case model::kernel_dhcp:
        ok = stage_kernel_dhcp();
        break;
    }
    if (ok && o_.kernel_dhcp && o_.start != model::kernel_dhcp)
        ok = stage_kernel_dhcp();
    if (ok && o_.nfs_root)
        ok = stage_nfs_root();
    if (ok && !o_.up_url.empty())
        ok = up_call();
    if (clock_type::now() >= deadline_ && !ok && report_.error.empty())
        report_.error = "overall timeout";
    report_.completed = ok;
    if (ok && !report_.checks.required_ok()) {
        for (const auto& c : report_.checks.all())
            if (c.required && !c.ok) {
                report_.error = fmt::format("check {} failed: {}", c.name, c.detail);
                break;
            }
    }
    return report_;
}

} // namespace

std::vector<std::string> initramfs_from_config(const std::string& config_txt) {
    std::vector<std::string> out;
    std::istringstream in(config_txt);
    std::string line;
    for (int n = 0; n < 10000 && std::getline(in, line); ++n) {
        if (const auto hash = line.find('#'); hash != std::string::npos)
            line.resize(hash);
        std::istringstream words(line);
        std::string key, file;
        if (!(words >> key) || key != "initramfs" || !(words >> file))
            continue;
        if (safe_relative(file) && std::find(out.begin(), out.end(), file) == out.end() &&
            out.size() < 4)
            out.push_back(file);
    }
    return out;
}

std::string kernel_from_config(const std::string& config_txt) {
    std::string kernel;
    std::istringstream in(config_txt);
    std::string line;
    for (int n = 0; n < 10000 && std::getline(in, line); ++n) {
        if (const auto hash = line.find('#'); hash != std::string::npos)
            line.resize(hash);
        const auto eq = line.find('=');
        if (eq == std::string::npos)
            continue;
        auto trim = [](std::string s) {
            const auto b = s.find_first_not_of(" \t\r");
            const auto e = s.find_last_not_of(" \t\r");
            return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
        };
        if (trim(line.substr(0, eq)) != "kernel")
            continue;
        const auto file = trim(line.substr(eq + 1));
        if (!file.empty() && safe_relative(file))
            kernel = file;
    }
    return kernel;
}

boot_report run_boot(const boot_options& options) {
    boot_run run(options);
    return run.run();
}

} // namespace netbootd::emu
