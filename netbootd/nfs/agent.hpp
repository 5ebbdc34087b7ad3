// The node agent (agents/netbootd-agent and its unit), as files for a node's root: the script in
// /usr/local/sbin, the unit in /etc/systemd/system, enabled for multi-user.target. Identical for
// every node, so it is embedded at build time rather than rendered from the templates.
#pragma once

#include <vector>

#include "netbootd/nfs/render.hpp"

namespace netbootd::nfs {

std::vector<rendered_file> agent_files();

} // namespace netbootd::nfs
