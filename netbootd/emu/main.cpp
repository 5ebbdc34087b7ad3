// netbootd-piemu: emulates one Raspberry Pi network boot (DHCP + TFTP of the ROM / bootcode.bin /
// EEPROM stages, optionally the kernel's DHCP) on an interface and reports what the server did.
// See docs/emulator.md.
#include "netbootd/core/duration.hpp"
#include "netbootd/core/net_types.hpp"
#include "netbootd/emu/boot.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <sstream>

namespace emu = netbootd::emu;

namespace {

// Exit codes: documented in docs/emulator.md.
constexpr int exit_ok = 0;
constexpr int exit_boot_failed = 1;
constexpr int exit_check_failed = 2;
constexpr int exit_usage = 3;

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty())
            out.push_back(item);
    return out;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"netbootd-piemu: a Raspberry Pi network-boot emulator (runs as root in its own "
                 "network namespace)"};
    std::string iface = "eth0", model_text = "pi4", mac_text, serial_text = "00000000";
    std::string boardrev_text, style_text, prefix_text = "serial", files_text,
                                           timeout_text = "120s";
    std::string file_timeout_text = "30s", save_dir, tftp_ip_text, expect_ip_text, dtb;
    std::string up_url, up_token;
    int blksize = 0, prl = 14, drop_ack = 0, dup_ack = 0;
    bool strict = false, kernel_dhcp = false, nfs_root = false, json = false, quiet = false;
    // A wrapper (tests, the demo, the sim power driver) may append an option it already set.
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_option("--iface", iface, "interface to boot on")->capture_default_str();
    app.add_option("--model", model_text,
                   "pi3b-rom | pi3bplus-rom | pi3-bootcode | pi4 | pi5 | kernel-dhcp")
        ->capture_default_str();
    app.add_option("--mac", mac_text,
                   "the Pi's MAC (default: the interface's); set on the interface");
    app.add_option("--serial", serial_text, "serial, 8 hex digits")->capture_default_str();
    app.add_option("--boardrev", boardrev_text, "board revision in hex (Pi 4/5), e.g. c03111");
    app.add_option("--opt97-style", style_text,
                   "const44 | serial4 | rpi4-le | rpi4-be | rpi5 (default per model)");
    app.add_option("--tftp-prefix", prefix_text, "serial | mac | str:<prefix/>")
        ->capture_default_str();
    app.add_option("--blksize", blksize, "RRQ blksize for pi4/pi5 (default 1024 / 1468)");
    app.add_option("--prl", prl, "pi3bplus-rom option 55 length: 12 or 14")->capture_default_str();
    app.add_flag("--strict", strict, "enforce the quirk-level checks (Q1, Q5, Q10, Q13, RRQ race)");
    app.add_flag("--kernel-dhcp", kernel_dhcp, "after the firmware, run the kernel's ip=dhcp");
    app.add_flag("--nfs-root", nfs_root,
                 "after the kernel's DHCP, mount cmdline.txt's nfsroot= over NFSv3 (libnfs) and "
                 "read the root's /etc/hostname");
    app.add_option("--files", files_text,
                   "comma-separated files after the prefix decision ('name?' = optional)");
    app.add_option("--timeout", timeout_text, "overall limit")->capture_default_str();
    app.add_option("--file-timeout", file_timeout_text, "per-file limit (TFTP_FILE_TIMEOUT)")
        ->capture_default_str();
    app.add_option("--save-dir", save_dir, "save fetched files here, by requested name");
    app.add_option("--tftp-ip", tftp_ip_text,
                   "EEPROM TFTP_IP: overrides the DHCP choice (pi4/pi5)");
    app.add_option("--expect-ip", expect_ip_text, "kernel-dhcp alone: the firmware-stage address");
    app.add_option("--dtb", dtb, "device tree name instead of the model's default");
    app.add_option("--drop-ack", drop_ack,
                   "kernel fetch: withhold the ACK of block N once (server must retransmit)");
    app.add_option("--dup-ack", dup_ack,
                   "kernel fetch: send the ACK of block N twice (server must not resend)");
    app.add_option("--up-url", up_url,
                   "at the end, POST the node agent's \"up\" call (JSON) to this http:// URL");
    app.add_option("--up-token", up_token, "bearer token for --up-url");
    app.add_flag("--json", json, "print the JSON report on stdout");
    app.add_flag("-q,--quiet", quiet, "no progress lines on stderr");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return exit_usage;
    }

    auto usage = [](const std::string& msg) {
        std::fprintf(stderr, "netbootd-piemu: %s\n", msg.c_str());
        return exit_usage;
    };
    emu::boot_options o;
    o.iface = iface;
    const auto m = emu::parse_model(model_text);
    if (!m)
        return usage("unknown --model '" + model_text + "'");
    o.start = *m;
    if (!mac_text.empty()) {
        o.mac = netbootd::mac_address::parse(mac_text);
        if (!o.mac)
            return usage("bad --mac '" + mac_text + "'");
    }
    const auto serial = netbootd::parse_serial(serial_text);
    if (!serial)
        return usage("--serial needs 8 hex digits");
    o.serial = *serial;
    if (!boardrev_text.empty()) {
        try {
            std::size_t used = 0;
            const unsigned long v = std::stoul(boardrev_text, &used, 16);
            if (used != boardrev_text.size() || v > 0xffffffffUL)
                throw std::invalid_argument("range");
            o.boardrev = static_cast<std::uint32_t>(v);
        } catch (const std::exception&) {
            return usage("bad --boardrev '" + boardrev_text + "' (hex, e.g. c03111)");
        }
    }
    if (!style_text.empty()) {
        o.style = emu::parse_opt97_style(style_text);
        if (!o.style)
            return usage("unknown --opt97-style '" + style_text + "'");
    }
    if (prefix_text == "serial") {
        o.prefix = emu::prefix_mode::serial;
    } else if (prefix_text == "mac") {
        o.prefix = emu::prefix_mode::mac;
    } else if (prefix_text.rfind("str:", 0) == 0) {
        o.prefix = emu::prefix_mode::str;
        o.prefix_str = prefix_text.substr(4);
    } else {
        return usage("--tftp-prefix must be serial, mac or str:<prefix>");
    }
    if (blksize != 0) {
        if (blksize < 8 || blksize > 65464)
            return usage("--blksize must be 8..65464");
        o.blksize = static_cast<std::uint16_t>(blksize);
    }
    if (prl != 12 && prl != 14)
        return usage("--prl must be 12 or 14");
    o.prl_3bplus = prl == 12 ? emu::prl_kind::rom12 : emu::prl_kind::bootcode14;
    o.strict = strict;
    o.kernel_dhcp = kernel_dhcp;
    o.nfs_root = nfs_root;
    if (!files_text.empty())
        o.files = split_list(files_text);
    const auto timeout = netbootd::parse_duration(timeout_text);
    const auto file_timeout = netbootd::parse_duration(file_timeout_text);
    if (!timeout || timeout->count() <= 0 || !file_timeout || file_timeout->count() <= 0)
        return usage("bad --timeout or --file-timeout");
    o.timeout = *timeout;
    o.file_timeout = *file_timeout;
    o.save_dir = save_dir;
    if (!tftp_ip_text.empty()) {
        o.tftp_ip = netbootd::ipv4_address::parse(tftp_ip_text);
        if (!o.tftp_ip)
            return usage("bad --tftp-ip");
    }
    if (!expect_ip_text.empty()) {
        o.expect_ip = netbootd::ipv4_address::parse(expect_ip_text);
        if (!o.expect_ip)
            return usage("bad --expect-ip");
    }
    o.dtb = dtb;
    o.up_url = up_url;
    o.up_token = up_token;
    if (drop_ack < 0 || drop_ack > 65535 || dup_ack < 0 || dup_ack > 65535)
        return usage("--drop-ack/--dup-ack take a block number 1..65535");
    if (drop_ack > 0)
        o.drop_ack = static_cast<std::uint16_t>(drop_ack);
    if (dup_ack > 0)
        o.dup_ack = static_cast<std::uint16_t>(dup_ack);
    if (!quiet)
        o.progress = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };

    const emu::boot_report r = emu::run_boot(o);
    if (json)
        std::cout << r.to_json().dump(2) << std::endl;
    if (r.ok()) {
        if (!quiet)
            std::fprintf(stderr, "piemu: OK (%zu files, %zu checks)\n", r.files.size(),
                         r.checks.all().size());
        return exit_ok;
    }
    std::fprintf(stderr, "piemu: FAILED: %s\n", r.error.empty() ? "unknown" : r.error.c_str());
    if (r.setup_error)
        return exit_usage;
    return r.completed ? exit_check_failed : exit_boot_failed;
}
