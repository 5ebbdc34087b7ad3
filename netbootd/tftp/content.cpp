#include "netbootd/tftp/content.hpp"

#include <algorithm>
#include <cerrno>
#include <unistd.h>

namespace netbootd::tftp {

std::span<const std::uint8_t> memory_content::read(std::uint64_t offset, std::size_t len,
                                                   std::span<std::uint8_t> /*scratch*/,
                                                   std::error_code& ec) const {
    ec.clear();
    if (offset >= bytes_.size())
        return {};
    const auto n = std::min<std::uint64_t>(len, bytes_.size() - offset);
    return std::span<const std::uint8_t>(bytes_).subspan(static_cast<std::size_t>(offset),
                                                         static_cast<std::size_t>(n));
}

fd_content::~fd_content() {
    if (fd_ >= 0)
        ::close(fd_);
}

std::span<const std::uint8_t> fd_content::read(std::uint64_t offset, std::size_t len,
                                               std::span<std::uint8_t> scratch,
                                               std::error_code& ec) const {
    ec.clear();
    if (offset >= size_)
        return {};
    auto want = static_cast<std::size_t>(
        std::min<std::uint64_t>(std::min<std::uint64_t>(len, size_ - offset), scratch.size()));
    std::size_t got = 0;
    while (got < want) {
        auto r = ::pread(fd_, scratch.data() + got, want - got, static_cast<off_t>(offset + got));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            ec = std::error_code(errno, std::generic_category());
            return {};
        }
        if (r == 0) {
            // The file shrank under us: the transfer cannot honour the tsize it announced.
            ec = std::make_error_code(std::errc::io_error);
            return {};
        }
        got += static_cast<std::size_t>(r);
    }
    return scratch.first(got);
}

content_ptr make_memory_content(std::string_view text) {
    return std::make_shared<memory_content>(std::vector<std::uint8_t>(text.begin(), text.end()));
}

std::vector<std::uint8_t> to_netascii(std::span<const std::uint8_t> in) {
    std::vector<std::uint8_t> out;
    out.reserve(in.size() + in.size() / 16);
    for (auto c : in) {
        if (c == '\n') {
            out.push_back('\r');
            out.push_back('\n');
        } else if (c == '\r') {
            out.push_back('\r');
            out.push_back(0);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

} // namespace netbootd::tftp
