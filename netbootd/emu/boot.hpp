// Runs one emulated Pi boot on an interface: the DHCP and TFTP stages of a model, in order,
// with the checks of spec §5. Blocking and single-threaded on purpose: a boot is a sequence, and
// every wait in it is bounded by a retransmit interval, a count and the overall deadline.
#pragma once

#include "netbootd/core/net_types.hpp"
#include "netbootd/emu/dhcp_build.hpp"
#include "netbootd/emu/model.hpp"
#include "netbootd/emu/report.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace netbootd::emu {

struct boot_options {
    std::string iface = "eth0";
    model start = model::pi4;
    std::optional<mac_address> mac; ///< default: the interface's MAC
    std::uint32_t serial = 0;
    std::optional<std::uint32_t> boardrev;
    std::optional<opt97_style> style; ///< default per model
    prefix_mode prefix = prefix_mode::serial;
    std::string prefix_str;               ///< for prefix_mode::str
    std::optional<std::uint16_t> blksize; ///< default: 1024 (pi4), 1468 (pi5)
    std::optional<prl_kind> prl_3bplus;   ///< 3B+ ROM PRL (12 or 14 items; default 14)
    bool strict = false;
    bool kernel_dhcp = false;
    /// Replaces the file list after the prefix decision; "name?" marks an optional file.
    std::optional<std::vector<std::string>> files;
    std::chrono::milliseconds timeout{120000};
    std::chrono::milliseconds file_timeout{30000};
    std::string save_dir;
    std::optional<ipv4_address> tftp_ip;   ///< EEPROM TFTP_IP (Pi 4/5)
    std::optional<ipv4_address> expect_ip; ///< kernel-dhcp alone: the firmware-stage address
    std::string dtb;                       ///< override the model's device tree name
    /// Data-path stress on the kernel image fetch: withhold the ACK of this block once / send the
    /// ACK of this block twice (spec §5.5 step 6).
    std::optional<std::uint16_t> drop_ack;
    std::optional<std::uint16_t> dup_ack;
    /// After the kernel's DHCP: mount the cmdline.txt's nfsroot= over NFSv3 (libnfs) and read the
    /// root's /etc/hostname, as the kernel's nfsroot does.
    bool nfs_root = false;
    std::string up_url;   ///< POST the node agent's "up" call here at the end (empty: skip)
    std::string up_token; ///< bearer token for it
    std::function<void(const std::string&)> progress; ///< one human line per step
};

boot_report run_boot(const boot_options& options);

/// initramfs names referenced by a config.txt (`initramfs <file> [followkernel]`).
std::vector<std::string> initramfs_from_config(const std::string& config_txt);

/// The kernel a config.txt names with `kernel=<file>` (the last one wins, as in the firmware), or
/// "" when it names none or an unsafe path.
std::string kernel_from_config(const std::string& config_txt);

} // namespace netbootd::emu
