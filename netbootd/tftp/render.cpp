#include "netbootd/tftp/render.hpp"

#include <fmt/format.h>

#include "netbootd/core/node_paths.hpp"

namespace netbootd::tftp {

template_vars boot_vars(const cluster_config& cfg, const node& n) {
    template_vars v;
    v["hostname"] = n.hostname;
    v["ip"] = n.ip.to_string();
    v["position"] = std::int64_t{n.position};
    v["server_ip"] = cfg.cluster.server_ip.to_string();
    v["nfs_root"] = nfs_root_path(cfg, n).string();
    v["serial"] = n.serial ? format_serial(*n.serial) : std::string();
    v["mac"] = n.mac.to_string();
    v["mac_dashed"] = n.mac.to_dashed();
    v["cluster"] = cfg.cluster.name;
    return v;
}

tl::expected<std::string, std::string> render_boot_file(std::string_view text,
                                                        const cluster_config& cfg, const node& n) {
    auto r = render_template(text, boot_vars(cfg, n));
    if (!r)
        return tl::unexpected(fmt::format("offset {}: {}", r.error().offset, r.error().message));
    return std::move(*r);
}

} // namespace netbootd::tftp
