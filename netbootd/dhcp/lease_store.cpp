#include "netbootd/dhcp/lease_store.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

namespace netbootd::dhcp {

namespace {

std::uint32_t fnv1a(std::string_view s) {
    std::uint32_t h = 2166136261u;
    for (char c : s) {
        h ^= static_cast<std::uint8_t>(c);
        h *= 16777619u;
    }
    return h;
}

std::string with_crc(std::string body) {
    const auto crc = fnv1a(body);
    return fmt::format("{} {:08x}\n", body, crc);
}

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& p) {
    throw std::runtime_error(
        fmt::format("dhcp lease store: {} {}: {}", what, p.string(), std::strerror(errno)));
}

void write_all(int fd, const std::string& s, const std::filesystem::path& p) {
    std::size_t off = 0;
    while (off < s.size()) {
        const auto n = ::write(fd, s.data() + off, s.size() - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail("write", p);
        }
        off += static_cast<std::size_t>(n);
    }
}

void fsync_dir(const std::filesystem::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        fail("open directory", dir);
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0)
        fail("fsync directory", dir);
}

std::int64_t to_unix(clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::optional<lease_state> parse_state(std::string_view s) {
    if (s == "bound")
        return lease_state::bound;
    if (s == "declined")
        return lease_state::declined;
    return std::nullopt;
}

} // namespace

std::string journal_line(const lease& l) {
    return with_crc(fmt::format("B {} {} {} {}", l.mac.to_string(), l.ip.to_string(),
                                l.expires ? std::to_string(to_unix(*l.expires)) : std::string("-"),
                                to_string(l.state)));
}

std::string journal_release_line(const lease& l) {
    return with_crc(fmt::format("R {} {}", l.mac.to_string(), l.ip.to_string()));
}

lease_store::lease_store(const std::filesystem::path& dir, clock::time_point now) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        throw std::runtime_error(
            fmt::format("dhcp lease store: create {}: {}", dir.string(), ec.message()));
    path_ = dir / file_name;
    std::string text;
    {
        std::ifstream in(path_, std::ios::binary);
        if (in) {
            std::ostringstream ss;
            ss << in.rdbuf();
            text = ss.str();
        }
    }
    std::size_t good_end = 0;
    replay(text, good_end);
    // Compaction rewrites the file, which also cuts off a torn last line.
    compact(now);
}

lease_store::~lease_store() {
    if (fd_ >= 0)
        ::close(fd_);
}

void lease_store::replay(const std::string& text, std::size_t& good_end) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto nl = text.find('\n', pos);
        if (nl == std::string::npos)
            break; // torn write at the end
        const std::string_view line(text.data() + pos, nl - pos);
        pos = nl + 1;
        const auto sp = line.rfind(' ');
        if (sp == std::string_view::npos)
            continue;
        const auto body = line.substr(0, sp);
        if (fmt::format("{:08x}", fnv1a(body)) != line.substr(sp + 1))
            continue; // corrupt line: skip it, keep what is intact
        std::istringstream in{std::string(body)};
        std::string kind, mac_s, ip_s, exp_s, state_s;
        in >> kind >> mac_s >> ip_s;
        const auto mac = mac_address::parse(mac_s);
        const auto ip = ipv4_address::parse(ip_s);
        if (!mac || !ip)
            continue;
        if (kind == "R") {
            auto it = by_ip_.find(ip->value);
            if (it != by_ip_.end() && it->second.mac == *mac)
                remove(*ip);
        } else if (kind == "B") {
            in >> exp_s >> state_s;
            const auto st = parse_state(state_s);
            if (!st)
                continue;
            lease l{*mac, *ip, std::nullopt, *st};
            if (exp_s != "-") {
                try {
                    l.expires = clock::time_point(std::chrono::seconds(std::stoll(exp_s)));
                } catch (const std::exception&) {
                    continue;
                }
            }
            insert(l);
        }
        good_end = pos;
    }
}

const lease* lease_store::by_mac(const mac_address& mac) const {
    auto it = mac_index_.find(mac);
    if (it == mac_index_.end())
        return nullptr;
    return &by_ip_.at(it->second);
}

const lease* lease_store::by_ip(ipv4_address ip) const {
    auto it = by_ip_.find(ip.value);
    return it == by_ip_.end() ? nullptr : &it->second;
}

std::optional<ipv4_address> lease_store::find_free(const address_pool& pool,
                                                   clock::time_point now) const {
    // Walk the pool and the (sorted) lease map together: O(pool + leases in pool).
    auto it = by_ip_.lower_bound(pool.first.value);
    for (std::uint64_t a = pool.first.value; a <= pool.last.value; ++a) {
        while (it != by_ip_.end() && it->first < a)
            ++it;
        if (it == by_ip_.end() || it->first != a || !it->second.active(now))
            return ipv4_address{static_cast<std::uint32_t>(a)};
    }
    return std::nullopt;
}

void lease_store::remove(ipv4_address ip) {
    auto it = by_ip_.find(ip.value);
    if (it == by_ip_.end())
        return;
    auto m = mac_index_.find(it->second.mac);
    if (m != mac_index_.end() && m->second == ip.value)
        mac_index_.erase(m);
    by_ip_.erase(it);
}

void lease_store::insert(const lease& l) {
    if (l.state != lease_state::declined) {
        if (auto m = mac_index_.find(l.mac); m != mac_index_.end() && m->second != l.ip.value)
            remove(ipv4_address{m->second});
    }
    remove(l.ip);
    by_ip_[l.ip.value] = l;
    if (l.state != lease_state::declined)
        mac_index_[l.mac] = l.ip.value;
}

void lease_store::append(const std::string& line) {
    if (fd_ < 0)
        return;
    write_all(fd_, line, path_);
    if (::fdatasync(fd_) != 0)
        fail("fdatasync", path_);
    ++records_;
}

bool lease_store::apply(const lease_change& c, clock::time_point now) {
    const auto* cur = by_ip(c.l.ip);
    switch (c.what) {
    case lease_change::kind::hold:
        if (cur && *cur == c.l)
            return false;
        insert(c.l);
        return true;
    case lease_change::kind::commit: {
        if (cur && *cur == c.l)
            return false;
        const auto* old = c.l.state == lease_state::declined ? nullptr : by_mac(c.l.mac);
        const bool old_persisted = old && old->ip != c.l.ip && old->state != lease_state::offered;
        // Disk first: a lease the client may act on must survive a crash.
        if (old_persisted)
            append(journal_release_line(*old));
        append(journal_line(c.l));
        insert(c.l);
        break;
    }
    case lease_change::kind::release: {
        if (!cur || cur->mac != c.l.mac)
            return false;
        if (cur->state != lease_state::offered)
            append(journal_release_line(*cur));
        remove(c.l.ip);
        break;
    }
    }
    if (fd_ >= 0 && records_ > 4 * by_ip_.size() + 1024)
        compact(now);
    return true;
}

std::vector<lease> lease_store::all() const {
    std::vector<lease> out;
    out.reserve(by_ip_.size());
    for (const auto& [ip, l] : by_ip_)
        out.push_back(l);
    return out;
}

void lease_store::compact(clock::time_point now) {
    if (path_.empty())
        return;
    std::string text;
    std::size_t n = 0;
    for (auto it = by_ip_.begin(); it != by_ip_.end();) {
        const auto& l = it->second;
        if (l.state == lease_state::offered) {
            ++it;
            continue;
        }
        if (!l.active(now)) {
            const auto ip = l.ip;
            ++it;
            remove(ip);
            continue;
        }
        text += journal_line(l);
        ++n;
        ++it;
    }
    auto tmp = path_;
    tmp += ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        fail("create", tmp);
    try {
        write_all(fd, text, tmp);
        if (::fsync(fd) != 0)
            fail("fsync", tmp);
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path_.c_str()) != 0)
        fail("rename", tmp);
    fsync_dir(path_.parent_path());
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd_ < 0)
        fail("open", path_);
    records_ = n;
}

} // namespace netbootd::dhcp
