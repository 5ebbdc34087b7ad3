#include "netbootd/core/node_paths.hpp"

namespace netbootd {

std::filesystem::path nfs_root_path(const cluster_config& cfg, const node& n) {
    switch (n.root) {
    case root_mode::shared:
        return cfg.nfs.base_root;
    case root_mode::overlay:
    case root_mode::clone:
        return cfg.nfs.roots_dir / n.hostname;
    }
    return cfg.nfs.base_root;
}

} // namespace netbootd
