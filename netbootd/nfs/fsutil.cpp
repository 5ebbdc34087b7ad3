#include "netbootd/nfs/fsutil.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fmt/format.h>

namespace netbootd::nfs {

namespace {

std::string err(std::string_view what, const fs::path& p, int e = errno) {
    return fmt::format("{} {}: {}", what, p.string(), std::strerror(e));
}

struct fd_guard {
    int fd = -1;
    ~fd_guard() {
        if (fd >= 0)
            ::close(fd);
    }
};

tl::expected<void, std::string> copy_xattrs(const fs::path& src, const fs::path& dst,
                                            const copy_options& opts) {
    ssize_t n = ::llistxattr(src.c_str(), nullptr, 0);
    if (n <= 0)
        return {};
    std::vector<char> names(static_cast<std::size_t>(n));
    n = ::llistxattr(src.c_str(), names.data(), names.size());
    if (n <= 0)
        return {};
    std::vector<char> value;
    for (std::size_t i = 0; i < static_cast<std::size_t>(n);) {
        std::string name(&names[i]);
        i += name.size() + 1;
        if (name.rfind("trusted.overlay.", 0) == 0 &&
            !(opts.keep_overlay_opaque && name == "trusted.overlay.opaque"))
            continue;
        ssize_t len = ::lgetxattr(src.c_str(), name.c_str(), nullptr, 0);
        if (len < 0)
            continue;
        value.resize(static_cast<std::size_t>(len));
        len = ::lgetxattr(src.c_str(), name.c_str(), value.data(), value.size());
        if (len < 0)
            continue;
        if (::lsetxattr(dst.c_str(), name.c_str(), value.data(), static_cast<std::size_t>(len),
                        0) != 0 &&
            errno != ENOTSUP && errno != EPERM)
            return tl::make_unexpected(err("setxattr " + name, dst));
    }
    return {};
}

tl::expected<void, std::string> apply_metadata(const struct stat& st, const fs::path& src,
                                               const fs::path& dst, const copy_options& opts) {
    if (::lchown(dst.c_str(), st.st_uid, st.st_gid) != 0 && errno != EPERM)
        return tl::make_unexpected(err("chown", dst));
    if (!S_ISLNK(st.st_mode) && ::chmod(dst.c_str(), st.st_mode & 07777) != 0)
        return tl::make_unexpected(err("chmod", dst));
    // After chown: chown clears file capabilities, which live in an xattr.
    if (auto r = copy_xattrs(src, dst, opts); !r)
        return r;
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
        return tl::make_unexpected(err("utimensat", dst));
    return {};
}

// Copies a file's data: FICLONE (reflink) while the file system supports it, else plain reads
// and writes for small files (cheaper than copy_file_range's splice set-up per file, which made
// clones of many small files slower than rsync) and copy_file_range for large ones.
struct data_copier {
    bool try_reflink = true;
    std::vector<char> buf = std::vector<char>(1 << 20);

    tl::expected<bool, std::string> copy(int in, int out, std::uint64_t size, const fs::path& src) {
        if (try_reflink && size > 0) {
            if (::ioctl(out, FICLONE, in) == 0)
                return true;
            if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EXDEV || errno == EINVAL)
                try_reflink = false; // the same for every file of this copy
        }
        std::uint64_t left = size;
        bool use_cfr = size > buf.size();
        while (left > 0) {
            if (use_cfr) {
                ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, left, 0);
                if (n > 0) {
                    left -= static_cast<std::uint64_t>(n);
                    continue;
                }
                if (n == 0)
                    break;
                if (errno == EINTR)
                    continue;
                if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
                    return tl::make_unexpected(err("copy", src));
                use_cfr = false;
            }
            ssize_t n = ::read(in, buf.data(), buf.size());
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return tl::make_unexpected(err("read", src));
            if (n == 0)
                break;
            for (ssize_t off = 0; off < n;) {
                ssize_t w = ::write(out, buf.data() + off, static_cast<std::size_t>(n - off));
                if (w < 0 && errno == EINTR)
                    continue;
                if (w < 0)
                    return tl::make_unexpected(err("write", src));
                off += w;
            }
            left = left > static_cast<std::uint64_t>(n) ? left - static_cast<std::uint64_t>(n) : 0;
        }
        return false;
    }
};

struct copier {
    const copy_options& opts;
    copy_stats stats;
    std::map<std::pair<dev_t, ino_t>, fs::path> links;
    data_copier data;

    void tick() {
        if (opts.progress && (stats.files + stats.dirs) % 1000 == 0)
            opts.progress(stats);
    }

    // Creates `dst` (not existing) as a copy of the non-directory `src`.
    tl::expected<void, std::string> make_node(const fs::path& src, const struct stat& st,
                                              const fs::path& dst) {
        if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
            auto it = links.find({st.st_dev, st.st_ino});
            if (it != links.end()) {
                if (::link(it->second.c_str(), dst.c_str()) != 0)
                    return tl::make_unexpected(err("link", dst));
                ++stats.files;
                return {};
            }
        }
        if (S_ISREG(st.st_mode)) {
            fd_guard in{::open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
            if (in.fd < 0)
                return tl::make_unexpected(err("open", src));
            fd_guard out{::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
            if (out.fd < 0)
                return tl::make_unexpected(err("create", dst));
            auto r = data.copy(in.fd, out.fd, static_cast<std::uint64_t>(st.st_size), src);
            if (!r)
                return tl::make_unexpected(r.error());
            if (*r)
                ++stats.reflinked;
            stats.bytes += static_cast<std::uint64_t>(st.st_size);
            if (st.st_nlink > 1)
                links[{st.st_dev, st.st_ino}] = dst;
        } else if (S_ISLNK(st.st_mode)) {
            std::vector<char> target(static_cast<std::size_t>(st.st_size) + 1 > 4096
                                         ? static_cast<std::size_t>(st.st_size) + 1
                                         : 4096);
            ssize_t n = ::readlink(src.c_str(), target.data(), target.size());
            if (n < 0)
                return tl::make_unexpected(err("readlink", src));
            if (::symlink(std::string(target.data(), static_cast<std::size_t>(n)).c_str(),
                          dst.c_str()) != 0)
                return tl::make_unexpected(err("symlink", dst));
        } else {
            if (::mknod(dst.c_str(), st.st_mode, st.st_rdev) != 0)
                return tl::make_unexpected(err("mknod", dst));
        }
        ++stats.files;
        tick();
        return apply_metadata(st, src, dst, opts);
    }

    tl::expected<void, std::string> copy_dir(const fs::path& src, const struct stat& st,
                                             const fs::path& dst) {
        struct stat dst_st;
        if (::lstat(dst.c_str(), &dst_st) == 0) {
            if (!S_ISDIR(dst_st.st_mode)) {
                if (auto r = remove_tree(dst); !r)
                    return r;
                if (::mkdir(dst.c_str(), 0700) != 0)
                    return tl::make_unexpected(err("mkdir", dst));
            }
        } else if (::mkdir(dst.c_str(), 0700) != 0) {
            return tl::make_unexpected(err("mkdir", dst));
        }
        ++stats.dirs;
        tick();
        std::error_code ec;
        for (fs::directory_iterator it(src, ec), end; !ec && it != end; it.increment(ec)) {
            if (auto r = copy_any(it->path(), dst / it->path().filename()); !r)
                return r;
        }
        if (ec)
            return tl::make_unexpected(fmt::format("read {}: {}", src.string(), ec.message()));
        return apply_metadata(st, src, dst, opts);
    }

    tl::expected<void, std::string> copy_any(const fs::path& src, const fs::path& dst) {
        struct stat st;
        if (::lstat(src.c_str(), &st) != 0)
            return tl::make_unexpected(err("stat", src));
        if (S_ISDIR(st.st_mode))
            return copy_dir(src, st, dst);
        struct stat dst_st;
        if (::lstat(dst.c_str(), &dst_st) == 0)
            if (auto r = remove_tree(dst); !r)
                return r;
        return make_node(src, st, dst);
    }
};

} // namespace

tl::expected<copy_stats, std::string> copy_tree(const fs::path& src, const fs::path& dst,
                                                const copy_options& opts) {
    copier c{opts, {}, {}, {}};
    if (auto r = c.copy_any(src, dst); !r)
        return tl::make_unexpected(r.error());
    if (opts.progress)
        opts.progress(c.stats);
    return c.stats;
}

tl::expected<void, std::string> copy_entry(const fs::path& src, const fs::path& dst,
                                           const copy_options& opts, copy_stats& stats) {
    struct stat st;
    if (::lstat(src.c_str(), &st) != 0)
        return tl::make_unexpected(err("stat", src));
    copier c{opts, {}, {}, {}};
    auto tmp = dst;
    tmp += ".netbootd-tmp";
    (void)remove_tree(tmp);
    if (auto r = c.make_node(src, st, tmp); !r) {
        (void)remove_tree(tmp);
        return r;
    }
    struct stat dst_st;
    if (::lstat(dst.c_str(), &dst_st) == 0 && S_ISDIR(dst_st.st_mode))
        if (auto r = remove_tree(dst); !r)
            return r;
    if (::rename(tmp.c_str(), dst.c_str()) != 0)
        return tl::make_unexpected(err("rename", dst));
    stats.files += c.stats.files;
    stats.bytes += c.stats.bytes;
    stats.reflinked += c.stats.reflinked;
    return {};
}

tl::expected<void, std::string> copy_metadata(const fs::path& src, const fs::path& dst,
                                              const copy_options& opts) {
    struct stat st;
    if (::lstat(src.c_str(), &st) != 0)
        return tl::make_unexpected(err("stat", src));
    return apply_metadata(st, src, dst, opts);
}

bool is_whiteout(const fs::path& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

bool is_opaque_dir(const fs::path& p) {
    char v[4] = {};
    ssize_t n = ::lgetxattr(p.c_str(), "trusted.overlay.opaque", v, sizeof v);
    return n == 1 && v[0] == 'y';
}

tl::expected<void, std::string> make_whiteout(const fs::path& p) {
    if (::mknod(p.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0)
        return tl::make_unexpected(err("mknod whiteout", p));
    return {};
}

tl::expected<void, std::string> remove_tree(const fs::path& p) {
    std::error_code ec;
    // remove_all does not follow symlinks (it removes the link itself).
    fs::remove_all(p, ec);
    if (ec && ec != std::errc::no_such_file_or_directory)
        return tl::make_unexpected(fmt::format("remove {}: {}", p.string(), ec.message()));
    return {};
}

bool is_mount_point(const fs::path& p) {
    std::error_code ec;
    auto canon = fs::weakly_canonical(p, ec);
    if (ec)
        return false;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ss(line);
        std::string id, parent, devno, root, mnt;
        ss >> id >> parent >> devno >> root >> mnt;
        // mountinfo escapes space, tab, newline and backslash as \ooo.
        std::string decoded;
        for (std::size_t i = 0; i < mnt.size(); ++i) {
            if (mnt[i] == '\\' && i + 3 < mnt.size()) {
                decoded += static_cast<char>((mnt[i + 1] - '0') * 64 + (mnt[i + 2] - '0') * 8 +
                                             (mnt[i + 3] - '0'));
                i += 3;
            } else {
                decoded += mnt[i];
            }
        }
        if (decoded == canon.string())
            return true;
    }
    return false;
}

} // namespace netbootd::nfs
