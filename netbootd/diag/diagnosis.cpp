#include "netbootd/diag/diagnosis.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace netbootd::diag {

namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

std::string str_field(const event& e, const char* key) {
    if (e.fields.is_object()) {
        auto it = e.fields.find(key);
        if (it != e.fields.end()) {
            if (it->is_string())
                return it->get<std::string>();
            if (!it->is_null())
                return it->dump();
        }
    }
    return {};
}

bool expected_probe(const event& e) {
    if (!e.fields.is_object())
        return false;
    auto it = e.fields.find("expected");
    return it != e.fields.end() && it->is_boolean() && it->get<bool>();
}

long long secs(std::chrono::system_clock::duration d) {
    return duration_cast<seconds>(d).count();
}

// The events that describe the current attempt: everything after the last power action or
// "up" report. Retries of a failing bootloader stay inside this window on purpose, so a missing
// start4.elf is still reported while the node loops back through DHCP.
std::span<const event> current_window(std::span<const event> events) {
    std::size_t start = 0;
    for (std::size_t i = events.size(); i-- > 0;) {
        const auto& k = events[i].kind;
        if (k == "power.on" || k == "power.cycle" || k == "power.off" || k == "agent.up") {
            start = i;
            break;
        }
    }
    return events.subspan(start);
}

// Was `file` (compared by basename) sent successfully after index i?
bool sent_later(std::span<const event> w, std::size_t i, std::string_view file, bool any_kernel) {
    for (std::size_t j = i + 1; j < w.size(); ++j) {
        if (w[j].kind != "tftp.sent")
            continue;
        const auto f = str_field(w[j], "file");
        if (basename(f) == basename(file) || (any_kernel && is_kernel_file(f)))
            return true;
    }
    return false;
}

struct unresolved {
    const event* ev = nullptr;
    std::string file;
};

// The last event of `kind` whose file was never delivered afterwards.
unresolved find_unresolved(std::span<const event> w, std::string_view kind, auto&& pred) {
    unresolved out;
    for (std::size_t i = 0; i < w.size(); ++i) {
        if (w[i].kind != kind)
            continue;
        const auto f = str_field(w[i], "file");
        if (!pred(w[i], f))
            continue;
        if (!sent_later(w, i, f, is_kernel_file(f)))
            out = {&w[i], f};
    }
    return out;
}

diagnosis make(const node_state& s, std::string problem, std::string summary,
               std::string explanation, std::vector<std::string> hints,
               std::vector<std::uint64_t> evidence = {}) {
    diagnosis d;
    d.reached = s.current;
    d.problem = std::move(problem);
    d.summary = std::move(summary);
    d.explanation = std::move(explanation);
    d.hints = std::move(hints);
    d.evidence = std::move(evidence);
    return d;
}

std::optional<diagnosis> tftp_rules(const node_state& s, std::span<const event> w) {
    if (auto u = find_unresolved(w, "tftp.not_found",
                                 [](const event& e, const std::string& f) {
                                     const auto b = basename(f);
                                     return !expected_probe(e) &&
                                            (b == "bootcode.bin" || b == "start.elf" ||
                                             b == "start4.elf" ||
                                             (b.starts_with("fixup") && b.ends_with(".dat")));
                                 });
        u.ev) {
        return make(
            s, "firmware_missing", fmt::format("{} not found in the node's boot view", u.file),
            fmt::format("The node asked for the firmware file '{}' over TFTP and netbootd answered "
                        "'file not found'. Without it the bootloader cannot continue; a Pi 4 "
                        "goes back to DHCP and tries again, a Pi 3 gives up.",
                        u.file),
            {fmt::format("Check that '{}' exists in tftp.root (or the node's directory under "
                         "tftp.nodes_dir); copy the boot partition's files there.",
                         std::string(basename(u.file))),
             "Pi 4 needs start4.elf and fixup4.dat, Pi 3 needs bootcode.bin, start.elf and "
             "fixup.dat.",
             "If the node uses a serial prefix directory, the file must be visible under that "
             "prefix too."},
            {u.ev->seq});
    }
    if (auto u = find_unresolved(w, "tftp.not_found",
                                 [](const event& e, const std::string& f) {
                                     return !expected_probe(e) && is_kernel_file(f);
                                 });
        u.ev) {
        return make(s, "kernel_missing", fmt::format("kernel {} not found", u.file),
                    fmt::format("The firmware loaded and asked for the kernel '{}', but it is not "
                                "in the node's boot view, and no other kernel image was sent "
                                "afterwards.",
                                u.file),
                    {"Copy the kernel images (kernel8.img, kernel7l.img, kernel7.img, "
                     "kernel_2712.img) from the image's boot partition into tftp.root.",
                     "If config.txt sets kernel=..., that file must exist.",
                     "A 64-bit Pi 4 asks for kernel8.img unless arm_64bit=0."},
                    {u.ev->seq});
    }
    if (auto u = find_unresolved(w, "tftp.timeout",
                                 [](const event&, const std::string&) { return true; });
        u.ev) {
        const auto bytes = str_field(*u.ev, "bytes");
        return make(
            s, "tftp_timeout", fmt::format("TFTP transfer of {} timed out", u.file),
            fmt::format("The transfer of '{}' stopped mid-file{}: the node stopped ACKing and "
                        "netbootd gave up after its retransmits. The file was not sent "
                        "successfully afterwards.",
                        u.file, bytes.empty() ? "" : fmt::format(" after {} bytes", bytes)),
            {"Look for packet loss or a duplex mismatch on the node's switch port.",
             "A Pi 3B ROM stops answering ARP during TFTP; a neighbour entry that expires "
             "mid-transfer stalls it (keep the server on the same L2 segment).",
             "Try a smaller tftp.max_blksize (e.g. 1024) if the path has a smaller MTU."},
            {u.ev->seq});
    }
    if (auto u =
            find_unresolved(w, "tftp.error", [](const event&, const std::string&) { return true; });
        u.ev) {
        return make(s, "tftp_error", fmt::format("TFTP error while sending {}", u.file),
                    fmt::format("A TFTP transfer of '{}' failed ({}).", u.file,
                                str_field(*u.ev, "message").empty() ? str_field(*u.ev, "reason")
                                                                    : str_field(*u.ev, "message")),
                    {"See the event's fields for the error; check file permissions in "
                     "tftp.root."},
                    {u.ev->seq});
    }
    return std::nullopt;
}

std::optional<diagnosis> foreign_rule(const node_state& s, std::span<const event> w) {
    const event* last = nullptr;
    for (const auto& e : w)
        if (e.kind == "dhcp.foreign_server")
            last = &e;
    if (!last)
        return std::nullopt;
    auto server = str_field(*last, "server");
    for (const char* key : {"server_id", "from", "server_ip"})
        if (server.empty())
            server = str_field(*last, key);
    if (server.empty() && last->ip)
        server = last->ip->to_string();
    return make(
        s, "foreign_dhcp_server",
        fmt::format("another DHCP server{} answered", server.empty() ? "" : " (" + server + ")"),
        "A DHCP server other than netbootd replied on the boot network. The Pi takes the first "
        "usable offer, so it may have taken that server's address or TFTP server and never "
        "come back to netbootd.",
        {"Disable DHCP on the other server (a home router, another dnsmasq) for this segment, "
         "or use dhcp.mode: proxy so netbootd only adds the boot options.",
         "If the other server must stay, make sure it does not send PXE options or a "
         "next-server."},
        {last->seq});
}

std::optional<diagnosis> dhcp_rules(const node_state& s, std::span<const event> w,
                                    std::chrono::system_clock::time_point now,
                                    const diagnosis_settings& cfg) {
    const bool pi4_family = s.dhcp_client == "pi4" || s.dhcp_client == "pi5";
    if (s.offers == 0 && s.acks == 0) {
        const event* drop = nullptr;
        for (const auto& e : w)
            if (e.kind == "dhcp.drop")
                drop = &e;
        if (drop) {
            const auto reason = str_field(*drop, "reason");
            return make(s, "dhcp_dropped",
                        fmt::format("netbootd dropped the node's DHCP request ({})", reason),
                        fmt::format("The node's DHCP packets reach netbootd, but it did not "
                                    "answer them: {}.",
                                    reason.empty() ? "no reason given" : reason),
                        {"The reason names the check that failed; see docs/diagnosis.md.",
                         "Check the node's MAC and model in the cluster file."},
                        {drop->seq});
        }
        if (s.discovers > 0 && now - s.since > cfg.dhcp_stall)
            return make(s, "dhcp_no_offer", "DHCP DISCOVERs but no OFFER",
                        fmt::format("netbootd saw {} DISCOVER(s) from the node over {} s but "
                                    "sent no OFFER.",
                                    s.discovers, secs(now - s.since)),
                        {"Check dhcp.enabled and the node's MAC in the cluster file.",
                         "See the daemon log for errors sending replies."});
        return std::nullopt;
    }
    const auto since_offer = s.last_offer ? now - *s.last_offer : now - s.since;
    if (pi4_family && s.requests == 0 && s.acks == 0 && since_offer > cfg.dhcp_stall)
        return make(
            s, "dhcp_no_request", "OFFER sent but the node never sent a REQUEST",
            fmt::format("netbootd offered an address {} time(s) and the node kept sending "
                        "DISCOVERs ({}) without a REQUEST: the OFFERs do not reach it, or it "
                        "does not accept them.",
                        s.offers, s.discovers),
            {"Enable portfast / edge mode on the node's switch port: with plain spanning tree "
             "the port forwards nothing for ~30 s after link-up and the bootloader gives up.",
             "Check that no firewall on the server drops outgoing UDP 68 and that "
             "cluster.interface is the node's network.",
             "If another DHCP server is present, the node may prefer its offer."});
    if (s.rrqs == 0 && since_offer > cfg.dhcp_stall)
        return make(
            s, "dhcp_no_tftp", "DHCP done but no TFTP request arrived",
            fmt::format("The node got its address{} {} s ago but never asked netbootd for a "
                        "file over TFTP: it is sending its TFTP requests somewhere else, or "
                        "they are blocked.",
                        s.ip ? " " + s.ip->to_string() : std::string(), secs(since_offer)),
            {"The TFTP server address the node uses must be netbootd's: siaddr, option 54 and "
             "option 66 must all be cluster.server_ip (a Pi 3B ignores siaddr and uses the DHCP "
             "server's address).",
             "Check that UDP port 69 is open on the server and tftp.enabled is true.",
             "A Pi 3B ROM cannot reach a TFTP server in another subnet.",
             "Spanning tree without portfast can also eat the first packets after link-up."});
    return std::nullopt;
}

std::optional<diagnosis> kernel_rules(const node_state& s, std::span<const event> w,
                                      std::chrono::system_clock::time_point now,
                                      const diagnosis_settings& cfg) {
    for (auto it = w.rbegin(); it != w.rend(); ++it) {
        if (it->kind == "nfs.export_missing") {
            const auto path = str_field(*it, "path");
            return make(s, "nfs_export_missing",
                        fmt::format("the node's NFS root{} is not exported",
                                    path.empty() ? "" : " " + path),
                        "The kernel is running, but its NFS root is not exported to it, so the "
                        "mount will fail and the kernel waits forever (rootwait).",
                        {"Run 'exportfs -v' and check the export's client list includes the "
                         "node's IP.",
                         "Check nfs.roots_dir and the node's root mode."},
                        {it->seq});
        }
        if (it->kind == "nfs.export_ok")
            break;
    }
    const auto from = s.kernel_sent ? *s.kernel_sent : s.since;
    if (now - from > cfg.nfs_timeout)
        return make(
            s, "nfs_timeout", "kernel loaded but no NFS root mount",
            fmt::format("The kernel {} {} s ago, but no NFS mount from the node has been seen "
                        "since (needs the passive sniffer or the node agent to be seen).",
                        s.kernel_sent ? "was sent" : "asked for an address", secs(now - from)),
            {"Check the export's client list (ACL) allows the node's IP, and no_root_squash "
             "is set.",
             "Check cmdline.txt: root=/dev/nfs nfsroot=<server>:<path>,vers=3 ip=dhcp rootwait; "
             "the path must match the export.",
             "vers=3 is required: the kernel's nfsroot defaults to NFSv2, which modern servers "
             "refuse.",
             "If the root did mount, install the node agent (agents/) so netbootd learns the "
             "node is up."});
    return std::nullopt;
}

} // namespace

diagnosis diagnose(const node_state& s, std::span<const event> events,
                   std::chrono::system_clock::time_point now, const diagnosis_settings& cfg) {
    const auto w = current_window(events);
    const auto age = secs(now - s.since);

    switch (s.current) {
    case stage::up:
        return make(s, "ok", "up",
                    fmt::format("The node agent reported up {} s ago{}.", age,
                                s.agent_hostname.empty() ? "" : " as " + s.agent_hostname),
                    {});
    case stage::nfs_root:
        return make(s, "booting", "NFS root mounted, waiting for the node agent",
                    fmt::format("The node mounted its NFS root {} s ago; the boot continues in "
                                "the node's own init.",
                                age),
                    {"If it never reports up, check the node agent is installed and enabled "
                     "(agents/netbootd-agent.service)."});
    case stage::kernel:
        if (auto d = kernel_rules(s, w, now, cfg))
            return *d;
        return make(s, "booting", "kernel running, waiting for the NFS root mount",
                    fmt::format("The kernel was loaded {} s ago.", age), {});
    default:
        break;
    }

    if (s.power == "failed" && s.current <= stage::powered) {
        for (auto it = w.rbegin(); it != w.rend(); ++it)
            if (it->kind == "power.failed")
                return make(
                    s, "power_failed", "the last power action failed",
                    fmt::format("Switching the node's power failed: {}.", str_field(*it, "error")),
                    {"Check the power driver's settings and that the switch is "
                     "reachable."},
                    {it->seq});
    }

    if (auto d = tftp_rules(s, w))
        return *d;
    if (s.current <= stage::dhcp)
        if (auto d = foreign_rule(s, w))
            return *d;

    if (s.current == stage::firmware) {
        if (s.last_tftp && now - *s.last_tftp > cfg.firmware_stall) {
            std::vector<std::string> missing;
            std::vector<std::uint64_t> ev;
            for (std::size_t i = 0; i < w.size(); ++i)
                if (w[i].kind == "tftp.not_found" && !expected_probe(w[i])) {
                    auto f = str_field(w[i], "file");
                    if (!sent_later(w, i, f, false) &&
                        std::find(missing.begin(), missing.end(), f) == missing.end()) {
                        missing.push_back(f);
                        ev.push_back(w[i].seq);
                    }
                }
            if (!missing.empty()) {
                std::string list;
                for (const auto& f : missing)
                    list += (list.empty() ? "" : ", ") + f;
                return make(s, "file_missing", fmt::format("boot stopped; missing: {}", list),
                            fmt::format("The firmware stage stopped {} s ago. Files it asked "
                                        "for and did not get: {}.",
                                        secs(now - *s.last_tftp), list),
                            {"Copy the missing files into tftp.root or render them from a "
                             "template (cmdline.txt, config.txt).",
                             "A missing device tree (bcm27*.dtb) or cmdline.txt stops the "
                             "firmware before the kernel."},
                            std::move(ev));
            }
            return make(s, "firmware_stalled", "firmware stage stopped without an error",
                        fmt::format("The last TFTP request was {} s ago (last file sent: {}) "
                                    "and no kernel has been requested.",
                                    secs(now - *s.last_tftp),
                                    s.last_file.empty() ? "none" : s.last_file),
                        {"Attach a UART or HDMI screen to see the firmware's messages.",
                         "Check config.txt: a wrong kernel= or start_file= line, or a Pi 4 "
                         "that was not offered blksize (netbootd always offers it)."});
        }
        return make(s, "booting", "loading firmware over TFTP",
                    fmt::format("{} file(s), {} bytes sent so far; last: {}.", s.files_sent,
                                s.bytes_sent, s.last_file.empty() ? "none" : s.last_file),
                    {});
    }

    if (s.current == stage::dhcp) {
        if (auto d = dhcp_rules(s, w, now, cfg))
            return *d;
        return make(s, "booting", "in DHCP",
                    fmt::format("{} DISCOVER, {} OFFER, {} REQUEST, {} ACK so far.", s.discovers,
                                s.offers, s.requests, s.acks),
                    {});
    }

    if (s.current == stage::powered) {
        if (now - s.since > cfg.silent_after_power)
            return make(
                s, "powered_silent", "powered on but silent",
                fmt::format("The node was switched on {} s ago and netbootd has not seen a "
                            "single DHCP packet from it.",
                            age),
                {"Network boot may not be enabled in the bootloader: a Pi 4/5 needs BOOT_ORDER "
                 "with a 2 (e.g. 0xf21, set with rpi-eeprom-config); a Pi 3B needs the OTP bit "
                 "set once with program_usb_boot_mode=1.",
                 "An SD card with a bootable image makes the node boot from it: remove it.",
                 "Check the cable, the switch port's link and that it is in the boot VLAN; "
                 "without portfast the first DHCP packets are dropped.",
                 "Check the power supply actually switched (the node's LEDs)."});
        return make(s, "booting", "powered, waiting for the first DHCP packet",
                    fmt::format("Switched on {} s ago.", age), {});
    }

    if (events.empty())
        return make(s, "off", "no activity",
                    "netbootd has seen no packet from this node since it started.",
                    {"Power the node on (netbootctl power on N) or check its cabling."});
    return make(s, "off", "switched off", "The last power action switched the node off.", {});
}

nlohmann::json to_json(const diagnosis& d) {
    return {{"stage", to_string(d.reached)}, {"problem", d.problem}, {"summary", d.summary},
            {"explanation", d.explanation},  {"hints", d.hints},     {"evidence", d.evidence}};
}

} // namespace netbootd::diag
