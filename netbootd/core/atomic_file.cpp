#include "netbootd/core/atomic_file.hpp"

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace netbootd {

namespace {
std::error_code last_error() {
    return {errno, std::generic_category()};
}
} // namespace

std::error_code fsync_directory(const std::filesystem::path& dir) {
    const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return last_error();
    std::error_code ec;
    if (::fsync(fd) != 0)
        ec = last_error();
    ::close(fd);
    return ec;
}

std::error_code write_file_atomic(const std::filesystem::path& path, std::string_view content,
                                  std::filesystem::perms mode) {
    const auto dir = path.parent_path();
    std::string tmpl = (dir.empty() ? std::filesystem::path(".") : dir).string() + "/." +
                       path.filename().string() + ".tmp.XXXXXX";
    const int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0)
        return last_error();
    auto fail = [&](std::error_code ec) {
        ::close(fd);
        ::unlink(tmpl.c_str());
        return ec;
    };
    std::size_t done = 0;
    while (done < content.size()) {
        const auto n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(last_error());
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd, static_cast<mode_t>(mode)) != 0)
        return fail(last_error());
    if (::fsync(fd) != 0)
        return fail(last_error());
    if (::close(fd) != 0) {
        auto ec = last_error();
        ::unlink(tmpl.c_str());
        return ec;
    }
    if (::rename(tmpl.c_str(), path.c_str()) != 0) {
        auto ec = last_error();
        ::unlink(tmpl.c_str());
        return ec;
    }
    return fsync_directory(dir);
}

} // namespace netbootd
