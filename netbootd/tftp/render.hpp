// Boot files rendered per node from the boot templates directory (cmdline.txt's nfsroot= and the
// like), using core's render_template.
#pragma once

#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "netbootd/core/config.hpp"
#include "netbootd/core/node.hpp"
#include "netbootd/core/template.hpp"

namespace netbootd::tftp {

/// The variables a boot template may use: {hostname} {ip} {position} {server_ip} {nfs_root}
/// {serial} (8 hex digits, "" when unknown) {mac} ("dc:a6:32:01:36:c2") {mac_dashed}
/// ("dc-a6-32-01-36-c2") {cluster}.
template_vars boot_vars(const cluster_config& cfg, const node& n);

/// Renders one template for a node; the error names the offset and what went wrong.
tl::expected<std::string, std::string> render_boot_file(std::string_view text,
                                                        const cluster_config& cfg, const node& n);

} // namespace netbootd::tftp
