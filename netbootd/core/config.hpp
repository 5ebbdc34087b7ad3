// The cluster file (configs/*.yaml): typed sections, validated with file:line:column errors.
// Loading is all or nothing: either every check passes and a complete `cluster_config` comes back,
// or `config_error` lists every problem found.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "netbootd/core/net_types.hpp"
#include "netbootd/core/node.hpp"

namespace netbootd {

/// One problem in a config file, located at file:line:column (1-based).
struct diagnostic {
    std::string file;
    int line = 0;
    int column = 0;
    std::string message;
    /// "cluster.yaml:12:5: duplicate MAC ..."
    std::string to_string() const;
};

/// Thrown when a config file cannot be used; carries every diagnostic, not just the first.
class config_error : public std::runtime_error {
  public:
    explicit config_error(std::vector<diagnostic> diags);
    const std::vector<diagnostic>& diagnostics() const { return diags_; }

  private:
    std::vector<diagnostic> diags_;
};

using seconds = std::chrono::seconds;
using milliseconds = std::chrono::milliseconds;

struct cluster_section {
    std::string name = "cluster";
    std::string interface;
    ipv4_address server_ip;
    ipv4_subnet subnet;
    std::optional<ipv4_address> router;
    std::vector<ipv4_address> dns;
    std::vector<ipv4_address> ntp;
    std::string domain;
    std::filesystem::path state_dir = "/var/lib/netbootd";
};

enum class dhcp_mode { full, proxy };
enum class unknown_client_policy { ignore, log, pool };

struct address_pool {
    ipv4_address first;
    ipv4_address last;
    bool contains(ipv4_address a) const { return a >= first && a <= last; }
    std::uint32_t size() const { return last.value - first.value + 1; }
};

struct dhcp_section {
    bool enabled = true;
    dhcp_mode mode = dhcp_mode::full;
    std::optional<address_pool> pool;
    /// nullopt = infinite (the reference cluster's `dhcp-host=...,infinite`).
    std::optional<seconds> lease_time;
    unknown_client_policy unknown_clients = unknown_client_policy::ignore;
    /// The PXE boot menu text the Pi firmware matches (its PXE_OPTION43 default).
    std::string menu_text = "Raspberry Pi Boot";
    /// Send the 3-trailing-space menu text to Pi 3B ROM clients (spec R5).
    bool pi3b_menu_padding = true;
    /// Add option 66 (TFTP server name as a dotted quad).
    bool option66 = true;
    /// Delay of proxy replies to Pi 3 clients so the main server's OFFER arrives first (spec R11).
    milliseconds proxy_delay_g3{1000};
    /// Address the DHCP server binds to (all addresses of `cluster.interface` by default).
    std::uint16_t port = 67;
};

struct tftp_section {
    bool enabled = true;
    std::filesystem::path root = "/srv/netbootd/boot";
    std::filesystem::path nodes_dir = "/srv/netbootd/nodes";
    /// Per-node boot templates (cmdline.txt, config.txt additions); empty = none.
    std::filesystem::path templates_dir;
    int max_blksize = 1468;
    int max_windowsize = 16;
    int max_transfers = 1000;
    int max_transfers_per_client = 16;
    /// Threads (each with one data socket) that carry the transfers' DATA/ACK traffic.
    int data_threads = 1;
    /// Nice value of those threads while each serves 4 or more transfers (-20..19; 0 leaves them
    /// at the daemon's). See tftp/thread_priority.hpp.
    int data_nice = -5;
    std::uint16_t port = 69;
};

enum class nfs_backend { kernel, ganesha, none };

struct nfs_section {
    nfs_backend backend = nfs_backend::none;
    std::filesystem::path base_root = "/srv/netbootd/roots/base";
    std::filesystem::path roots_dir = "/srv/netbootd/roots";
    /// Per-node content directories (the reference cluster's /pxe/nodes); empty = none.
    std::filesystem::path content_dir;
    /// Per-node root templates (hostname, hosts, fstab ...); empty = none.
    std::filesystem::path templates_dir;
    /// The file the export backend writes; empty = the backend's default
    /// (/etc/exports.d/netbootd.exports, /etc/ganesha/netbootd-exports.conf).
    std::filesystem::path exports_file;
    /// Where ganesha.nfsd writes its PID (the ganesha backend signals it to reload).
    std::filesystem::path ganesha_pid_file = "/run/ganesha/ganesha.pid";
    /// Export the base read-write to shared nodes (default read-only, with tmpfs in fstab).
    bool shared_writable = false;
    /// Public keys rendered into roots as {ssh_authorized_keys} (root/.ssh/authorized_keys).
    std::optional<std::filesystem::path> authorized_keys;
    /// Install the node agent (script, unit, enabled) into every root it renders.
    bool agent = true;
};

struct api_section {
    std::string listen = "127.0.0.1:8067";
    std::optional<std::filesystem::path> token_file;
    std::optional<std::filesystem::path> unix_socket;
    /// Passive capture on cluster.interface (libtins, needs CAP_NET_RAW): reports other DHCP
    /// servers' replies and NFS traffic from node addresses, so the nfs-root stage is seen
    /// without the node agent.
    bool capture = false;
};

/// A power driver's settings. Type-specific keys stay as YAML (with their positions) so that
/// each driver validates its own keys with file:line errors.
struct power_driver_config {
    std::string name;
    std::string type;
    YAML::Node settings;
    int line = 0;
};

struct power_sequence_config {
    milliseconds stagger{2000};
    int max_parallel = 4;
    /// "", "dhcp", "tftp" or "up".
    std::string wait_for;
    bool on_start = false;
};

struct power_section {
    std::map<std::string, power_driver_config> drivers;
    power_sequence_config sequence;
};

/// Values applied to every node unless the node sets its own. Strings are templates.
struct node_defaults {
    std::string hostname = "node{position:02}";
    std::string ip;
    root_mode root = root_mode::shared;
    node_model model = node_model::detect;
    std::optional<power_binding> power;
};

struct cluster_config {
    /// The file this came from (absolute), for messages and for resolving relative paths.
    std::filesystem::path source;
    cluster_section cluster;
    dhcp_section dhcp;
    tftp_section tftp;
    nfs_section nfs;
    api_section api;
    power_section power;
    node_defaults defaults;
    std::vector<node> nodes;
    /// The enrolled nodes file merged into `nodes` (empty when there was none), and how many
    /// of `nodes` came from it.
    std::filesystem::path enrolled_source;
    std::size_t enrolled_count = 0;

    /// "60 nodes, 1 power driver, dhcp full, tftp on, nfs none"
    std::string summary() const;
};

/// The netbootd-managed inventory `netbootctl enroll` writes: `enrolled-nodes.yaml` in the
/// directory of the cluster file `config`.
std::filesystem::path enrolled_nodes_path(const std::filesystem::path& config);

/// Reads and validates a cluster file. Relative paths in it are resolved against its directory.
/// When `enrolled_nodes_path(file)` exists its nodes are merged in (see parse_config).
/// Throws config_error listing every problem (file:line:column); never returns a partial config.
cluster_config load_config(const std::filesystem::path& file);

/// The text of an enrolled nodes file: `nodes:` entries with only position, mac and serial.
struct enrolled_nodes_text {
    std::string text;
    /// Used in diagnostics.
    std::string name;
};

/// As load_config, from text (tests, fuzzing); `name` is used in diagnostics.
/// With `enrolled`, its nodes are added to the cluster file's, rendered from `defaults` like a
/// cluster-file node that gives only position, mac and serial. The cluster file wins: an
/// enrolled entry for a position the cluster file lists is ignored when it names the same MAC
/// and is an error otherwise; a MAC, serial, IP or hostname used in both files is an error
/// naming both places.
cluster_config parse_config(const std::string& text, const std::string& name,
                            const std::filesystem::path& base_dir = ".",
                            const std::optional<enrolled_nodes_text>& enrolled = std::nullopt);

} // namespace netbootd
