// Per-node files in NFS roots (hostname, hosts, fstab, timesyncd, the agent unit), rendered from
// nfs.templates_dir (rootfs-templates/root/) with the same variables as the TFTP templates.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "netbootd/core/config.hpp"
#include "netbootd/core/template.hpp"

namespace netbootd::nfs {

namespace fs = std::filesystem;

/// fstab lines a read-only shared root needs (tmpfs for /tmp, /var/log ...), newline-terminated.
std::string shared_tmpfs_mounts();

/// The variables of one node: hostname ip position server_ip nfs_root serial mac (as in the TFTP
/// templates) plus boot_dir (tftp.root, mounted at /boot/firmware), ntp_server, domain,
/// tmpfs_mounts (shared_tmpfs_mounts() for a shared node, empty otherwise), api_url (where the
/// node agent reports: http://server_ip:port of api.listen) and ssh_authorized_keys (set by the
/// caller from nfs.authorized_keys; empty here).
template_vars node_vars(const cluster_config& cfg, const node& n);

/// The node-independent subset, for files rendered once into the base root (shared nodes):
/// a template that uses a node variable is not rendered into the base.
template_vars base_vars(const cluster_config& cfg, bool shared);

struct rendered_file {
    rendered_file(fs::path p, std::string text, fs::perms m = fs::perms(0644),
                  std::string link = {})
        : path(std::move(p)), content(std::move(text)), mode(m), link_target(std::move(link)) {}

    /// Relative to the root ("etc/hostname").
    fs::path path;
    std::string content;
    fs::perms mode = fs::perms(0644);
    /// Non-empty: a symbolic link to this target instead of a file (content and mode unused).
    std::string link_target;
};

/// Renders every regular file under `templates_dir`. A template whose variables are not all in
/// `vars` fails the whole call, unless `skip_unknown` (then it is left out and named in
/// `skipped`).
tl::expected<std::vector<rendered_file>, std::string>
render_tree(const fs::path& templates_dir, const template_vars& vars, bool skip_unknown = false,
            std::vector<std::string>* skipped = nullptr);

/// Writes the files into `root` without ever following a symlink: the root may be written by the
/// node, which could plant /etc/hostname -> /etc/shadow; every parent is opened with O_NOFOLLOW
/// below `root`, a symlink in the way is an error, the file replaced by rename. Directories it
/// creates are 0755, except `.ssh` (0700, as sshd's StrictModes wants).
tl::expected<void, std::string> write_into_root(const fs::path& root,
                                                const std::vector<rendered_file>& files);

} // namespace netbootd::nfs
