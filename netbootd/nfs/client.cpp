#include "netbootd/nfs/client.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#ifdef NETBOOTD_HAVE_LIBNFS
#include <nfsc/libnfs-raw-nfs.h>
#include <nfsc/libnfs.h>
#endif

namespace netbootd::nfs {

#ifdef NETBOOTD_HAVE_LIBNFS

struct nfs_client::state {
    nfs_context* ctx = nfs_init_context();
    bool mounted = false;
    ~state() {
        if (!ctx)
            return;
        if (mounted)
            nfs_umount(ctx);
        nfs_destroy_context(ctx);
    }
};

tl::expected<nfs_client, mount_failure> nfs_client::mount(const std::string& server,
                                                          const std::string& export_path,
                                                          std::chrono::milliseconds timeout) {
    auto s = std::make_unique<state>();
    if (!s->ctx)
        return tl::unexpected(mount_failure{false, "nfs_init_context failed"});
    nfs_set_version(s->ctx, NFS_V3);
    nfs_set_timeout(s->ctx, static_cast<int>(timeout.count()));
    if (nfs_mount(s->ctx, server.c_str(), export_path.c_str()) != 0) {
        std::string error = nfs_get_error(s->ctx);
        const bool refused =
            error.find("ACCES") != std::string::npos || error.find("PERM") != std::string::npos;
        return tl::unexpected(mount_failure{refused, std::move(error)});
    }
    s->mounted = true;
    return nfs_client(std::move(s));
}

bool nfs_client::exists(const std::string& path) const {
    struct nfs_stat_64 st {};
    return nfs_lstat64(s_->ctx, path.c_str(), &st) == 0;
}

tl::expected<std::string, std::string> nfs_client::read_small(const std::string& path,
                                                              std::size_t max_bytes) const {
    nfsfh* fh = nullptr;
    if (nfs_open(s_->ctx, path.c_str(), O_RDONLY, &fh) != 0)
        return tl::unexpected(std::string(nfs_get_error(s_->ctx)));
    std::string out(max_bytes, '\0');
    const int got = nfs_read(s_->ctx, fh, max_bytes, out.data());
    std::string error = got < 0 ? nfs_get_error(s_->ctx) : "";
    nfs_close(s_->ctx, fh);
    if (got < 0)
        return tl::unexpected(std::move(error));
    out.resize(static_cast<std::size_t>(got));
    return out;
}

#else

struct nfs_client::state {};

tl::expected<nfs_client, mount_failure> nfs_client::mount(const std::string&, const std::string&,
                                                          std::chrono::milliseconds) {
    return tl::unexpected(mount_failure{false, "built without libnfs"});
}
bool nfs_client::exists(const std::string&) const {
    return false;
}
tl::expected<std::string, std::string> nfs_client::read_small(const std::string&,
                                                              std::size_t) const {
    return tl::unexpected(std::string("built without libnfs"));
}

#endif

nfs_client::nfs_client(std::unique_ptr<state> s) : s_(std::move(s)) {}
nfs_client::nfs_client(nfs_client&&) noexcept = default;
nfs_client& nfs_client::operator=(nfs_client&&) noexcept = default;
nfs_client::~nfs_client() = default;

} // namespace netbootd::nfs
