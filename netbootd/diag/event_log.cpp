#include "netbootd/diag/event_log.hpp"

#include <cerrno>
#include <deque>
#include <fstream>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace netbootd::diag {

namespace {

std::optional<severity> parse_severity(std::string_view s) {
    for (auto v : {severity::debug, severity::info, severity::warning, severity::error})
        if (to_string(v) == s)
            return v;
    return std::nullopt;
}

} // namespace

std::optional<event> event_from_json(const nlohmann::json& j) {
    if (!j.is_object())
        return std::nullopt;
    try {
        event e;
        if (!j.contains("kind") || !j["kind"].is_string() || !j.contains("time_ms") ||
            !j["time_ms"].is_number_integer())
            return std::nullopt;
        e.kind = j["kind"].get<std::string>();
        e.time = std::chrono::system_clock::time_point(
            std::chrono::milliseconds(j["time_ms"].get<std::int64_t>()));
        // Records written since time_us exists keep the full precision.
        if (j.contains("time_us") && j["time_us"].is_number_integer())
            e.time = std::chrono::system_clock::time_point(
                std::chrono::microseconds(j["time_us"].get<std::int64_t>()));
        if (j.contains("seq") && j["seq"].is_number_unsigned())
            e.seq = j["seq"].get<std::uint64_t>();
        if (j.contains("source") && j["source"].is_string())
            e.source = j["source"].get<std::string>();
        if (j.contains("level") && j["level"].is_string())
            if (auto l = parse_severity(j["level"].get<std::string>()))
                e.level = *l;
        if (j.contains("position") && j["position"].is_number_integer())
            e.position = j["position"].get<int>();
        if (j.contains("mac") && j["mac"].is_string())
            e.mac = mac_address::parse(j["mac"].get<std::string>());
        if (j.contains("ip") && j["ip"].is_string())
            e.ip = ipv4_address::parse(j["ip"].get<std::string>());
        if (j.contains("fields") && j["fields"].is_object())
            e.fields = j["fields"];
        return e;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

event_log::event_log(std::filesystem::path dir, std::uint64_t max_bytes, int keep)
    : dir_(std::move(dir)), max_bytes_(max_bytes == 0 ? 1 : max_bytes), keep_(keep < 1 ? 1 : keep) {
    std::filesystem::create_directories(dir_);
    std::lock_guard lock(mu_);
    open_locked();
    if (fd_ < 0)
        throw std::system_error(errno, std::generic_category(), "cannot open " + file().string());
}

event_log::~event_log() {
    if (fd_ >= 0)
        ::close(fd_);
}

void event_log::open_locked() {
    fd_ = ::open(file().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    size_ = 0;
    if (fd_ >= 0) {
        struct stat st {};
        if (::fstat(fd_, &st) == 0)
            size_ = static_cast<std::uint64_t>(st.st_size);
        // A line torn by a power cut must not swallow the next record: end it first.
        if (size_ > 0) {
            int rfd = ::open(file().c_str(), O_RDONLY | O_CLOEXEC);
            char last = '\n';
            if (rfd >= 0) {
                if (::pread(rfd, &last, 1, static_cast<off_t>(size_ - 1)) != 1)
                    last = '\n';
                ::close(rfd);
            }
            if (last != '\n' && ::write(fd_, "\n", 1) == 1)
                ++size_;
        }
    }
}

void event_log::rotate_locked() {
    if (fd_ >= 0) {
        ::fsync(fd_);
        ::close(fd_);
        fd_ = -1;
    }
    std::error_code ec;
    const auto base = file().string();
    std::filesystem::remove(base + "." + std::to_string(keep_), ec);
    for (int i = keep_ - 1; i >= 1; --i)
        std::filesystem::rename(base + "." + std::to_string(i), base + "." + std::to_string(i + 1),
                                ec);
    std::filesystem::rename(base, base + ".1", ec);
    open_locked();
    // Make the renames durable before new lines land in the fresh file.
    if (int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

void event_log::append(const event& e) {
    std::string line;
    try {
        line = to_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } catch (const std::exception&) {
        std::lock_guard lock(mu_);
        ++write_errors_;
        return;
    }
    line.push_back('\n');
    std::lock_guard lock(mu_);
    if (size_ > 0 && size_ + line.size() > max_bytes_)
        rotate_locked();
    if (fd_ < 0) {
        open_locked();
        if (fd_ < 0) {
            ++write_errors_;
            return;
        }
    }
    const auto n = ::write(fd_, line.data(), line.size());
    if (n != static_cast<ssize_t>(line.size())) {
        ++write_errors_;
        if (n > 0)
            size_ += static_cast<std::uint64_t>(n);
        return;
    }
    size_ += line.size();
}

std::uint64_t event_log::write_errors() const {
    std::lock_guard lock(mu_);
    return write_errors_;
}

std::vector<event> event_log::read(const event_query& q) const {
    std::vector<std::filesystem::path> files;
    const auto base = file().string();
    for (int i = keep_; i >= 1; --i)
        files.emplace_back(base + "." + std::to_string(i));
    files.emplace_back(base);

    // seq restarts with each daemon run, so the log's order is the file order, not seq.
    event_filter f = q.filter;
    f.after_seq = 0;
    std::deque<event> out;
    const std::size_t limit = q.limit == 0 ? 1 : q.limit;
    for (const auto& p : files) {
        std::ifstream in(p);
        if (!in)
            continue;
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty())
                continue;
            auto j = nlohmann::json::parse(line, nullptr, false);
            if (j.is_discarded())
                continue;
            auto e = event_from_json(j);
            if (!e)
                continue;
            if (q.since && e->time < *q.since)
                continue;
            // Match without the seq test: old runs' seq values are not comparable.
            e->seq = e->seq == 0 ? 1 : e->seq;
            if (!f.matches(*e))
                continue;
            out.push_back(std::move(*e));
            if (out.size() > limit)
                out.pop_front();
        }
    }
    return {std::make_move_iterator(out.begin()), std::make_move_iterator(out.end())};
}

} // namespace netbootd::diag
