#include "netbootd/nfs/agent.hpp"

#include "netbootd/nfs/agent_files.hpp"

namespace netbootd::nfs {

std::vector<rendered_file> agent_files() {
    std::vector<rendered_file> out;
    out.push_back({"usr/local/sbin/netbootd-agent", generated::agent_script, fs::perms(0755), {}});
    out.push_back(
        {"etc/systemd/system/netbootd-agent.service", generated::agent_unit, fs::perms(0644), {}});
    // What `systemctl enable` makes (WantedBy=multi-user.target), so the node needs no first boot
    // step to turn it on.
    out.push_back({"etc/systemd/system/multi-user.target.wants/netbootd-agent.service",
                   {},
                   fs::perms(0777),
                   "../netbootd-agent.service"});
    return out;
}

} // namespace netbootd::nfs
