#include "netbootd/emu/tftp_client.hpp"

#include "netbootd/emu/tftp_packet.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace netbootd::emu {
namespace {

constexpr std::size_t keep_limit = 64 * 1024;

std::optional<std::uint64_t> parse_number(const std::string& s) {
    std::uint64_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty())
        return std::nullopt;
    return v;
}

std::chrono::milliseconds since(clock_type::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t);
}

} // namespace

std::string_view to_string(file_outcome o) {
    switch (o) {
    case file_outcome::fetched:
        return "fetched";
    case file_outcome::not_found:
        return "not_found";
    case file_outcome::probed:
        return "probed";
    case file_outcome::failed:
        return "failed";
    }
    return "failed";
}

tl::expected<std::unique_ptr<tftp_transfer>, std::string>
tftp_transfer::start(const tftp_settings& s, std::string name, std::uint16_t local_port,
                     std::string save_path, bool keep_content) {
    std::unique_ptr<tftp_transfer> t(new tftp_transfer());
    t->s_ = s;
    t->result_.name = name;
    t->save_path_ = std::move(save_path);
    t->keep_content_ = keep_content;
    t->server_ip_ = s.server.value;
    t->fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (t->fd_ < 0)
        return tl::unexpected(fmt::format("UDP socket: {}", std::strerror(errno)));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(local_port);
    if (::bind(t->fd_, reinterpret_cast<const sockaddr*>(&local), sizeof local) < 0)
        return tl::unexpected(
            fmt::format("bind UDP port {}: {}", local_port, std::strerror(errno)));
    socklen_t len = sizeof local;
    ::getsockname(t->fd_, reinterpret_cast<sockaddr*>(&local), &len);
    t->result_.local_port = ntohs(local.sin_port);

    tftp_options opts;
    if (s.send_tsize)
        opts.emplace_back("tsize", "0");
    if (s.blksize)
        opts.emplace_back("blksize", std::to_string(*s.blksize));
    t->last_sent_ = build_rrq(name, opts);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(s.server_port);
    to.sin_addr.s_addr = htonl(s.server.value);
    t->started_ = clock_type::now();
    t->last_send_ = t->started_;
    if (::sendto(t->fd_, t->last_sent_.data(), t->last_sent_.size(), 0,
                 reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0)
        return tl::unexpected(fmt::format("send RRQ {}: {}", name, std::strerror(errno)));
    return t;
}

tftp_transfer::~tftp_transfer() {
    if (fd_ >= 0)
        ::close(fd_);
}

void tftp_transfer::send_to_tid(byte_view b) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(tid_ ? *tid_ : s_.server_port);
    to.sin_addr.s_addr = htonl(server_ip_);
    ::sendto(fd_, b.data(), b.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    last_send_ = clock_type::now();
}

std::optional<bytes> tftp_transfer::wait_packet(clock_type::time_point deadline) {
    bytes buf(65536);
    for (int spurious = 0; spurious < 1000; ++spurious) {
        const auto now = clock_type::now();
        if (now >= deadline)
            return std::nullopt;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
        pollfd p{fd_, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left + 1, 1000)));
        if (r <= 0)
            continue;
        sockaddr_in from{};
        socklen_t len = sizeof from;
        const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT,
                                     reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0)
            continue; // e.g. ICMP port unreachable reported as ECONNREFUSED; keep waiting
        if (ntohl(from.sin_addr.s_addr) != server_ip_)
            continue;
        const std::uint16_t port = ntohs(from.sin_port);
        if (!tid_) {
            tid_ = port;
            result_.server_port = port;
        } else if (*tid_ != port) {
            // RFC 1350: a packet from a foreign TID gets an error, the transfer goes on.
            const bytes err = build_error(5, "Unknown transfer ID");
            sockaddr_in to = from;
            ::sendto(fd_, err.data(), err.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                     sizeof to);
            continue;
        }
        buf.resize(static_cast<std::size_t>(n));
        return buf;
    }
    return std::nullopt;
}

void tftp_transfer::fail(std::string why) {
    failed_ = true;
    result_.outcome = file_outcome::failed;
    result_.detail = std::move(why);
    complete_ = true;
}

bool tftp_transfer::accept_data(byte_view data) {
    if (data.size() > block_size_) {
        fail(fmt::format("DATA {} carries {} bytes, more than blksize {}", next_block_, data.size(),
                         block_size_));
        return false;
    }
    hash_.update(data);
    result_.bytes += data.size();
    if (save_.is_open())
        save_.write(reinterpret_cast<const char*>(data.data()),
                    static_cast<std::streamsize>(data.size()));
    if (keep_content_ && result_.content.size() < keep_limit)
        result_.content.append(reinterpret_cast<const char*>(data.data()),
                               std::min(data.size(), keep_limit - result_.content.size()));
    if (data.size() < block_size_)
        complete_ = true;
    return true;
}

bool tftp_transfer::until_first_data(clock_type::time_point overall) {
    const auto deadline = std::min(started_ + s_.file_timeout, overall);
    const bool asked_options = s_.send_tsize || s_.blksize.has_value();
    for (;;) {
        auto pkt = wait_packet(std::min(last_send_ + s_.rrq_retransmit, deadline));
        if (!pkt) {
            if (clock_type::now() >= deadline) {
                fail(any_reply_ ? "timed out waiting for DATA 1" : "no answer to the RRQ");
                return false;
            }
            if (result_.retransmits >= s_.max_retransmits) {
                fail("no answer after retransmits");
                return false;
            }
            ++result_.retransmits;
            send_to_tid(last_sent_); // the RRQ (to port 69) or ACK 0 (to the TID)
            continue;
        }
        auto p = parse_tftp(*pkt);
        if (!p)
            continue; // malformed: drop it and keep waiting (bounded by the deadline)
        if (!any_reply_) {
            any_reply_ = true;
            result_.first_reply_after = since(started_);
        }
        if (p->opcode == tftp_opcode::error) {
            result_.error_code = p->error_code;
            result_.detail = fmt::format("ERROR {} \"{}\"", p->error_code, p->error_message);
            result_.outcome = p->error_code == 1 ? file_outcome::not_found : file_outcome::failed;
            complete_ = true;
            return false;
        }
        if (p->opcode == tftp_opcode::oack) {
            if (result_.oack) {
                send_to_tid(build_ack(0)); // our ACK 0 was lost
                continue;
            }
            result_.oack = true;
            if (!asked_options)
                result_.unrequested_options.push_back("(OACK without options in the RRQ)");
            for (const auto& [name, value] : p->options) {
                if (name == "tsize" && s_.send_tsize) {
                    result_.tsize = parse_number(value);
                } else if (name == "blksize" && s_.blksize) {
                    const auto v = parse_number(value);
                    if (!v || *v < 8 || *v > *s_.blksize) {
                        fail(fmt::format("OACK blksize '{}' not within 8..{}", value, *s_.blksize));
                        return false;
                    }
                    block_size_ = static_cast<std::uint16_t>(*v);
                    result_.blksize = block_size_;
                } else {
                    result_.unrequested_options.push_back(name);
                }
            }
            last_sent_ = build_ack(0);
            send_to_tid(last_sent_);
            continue;
        }
        if (p->opcode == tftp_opcode::data) {
            if (p->block != 1)
                continue; // a stray duplicate; DATA 1 is what we wait for
            if (!save_path_.empty()) {
                std::error_code ec;
                std::filesystem::create_directories(std::filesystem::path(save_path_).parent_path(),
                                                    ec);
                save_.open(save_path_ + ".part", std::ios::binary | std::ios::trunc);
            }
            if (!accept_data(p->data))
                return false;
            next_block_ = 2;
            return true;
        }
    }
}

void tftp_transfer::abort_early() {
    // Stamp what arrives from now on, so late_packets() can tell when each packet came.
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof one);
    send_to_tid(early_terminate());
    aborted_at_ = clock_type::now();
    aborted_wall_ = std::chrono::system_clock::now();
    result_.outcome = file_outcome::probed;
    result_.bytes = result_.tsize.value_or(0);
    if (save_.is_open()) {
        save_.close();
        std::error_code ec;
        std::filesystem::remove(save_path_ + ".part", ec);
    }
}

void tftp_transfer::finish_fetch() {
    result_.outcome = file_outcome::fetched;
    result_.sha256 = hash_.hex_digest();
    if (save_.is_open()) {
        save_.close();
        std::error_code ec;
        std::filesystem::rename(save_path_ + ".part", save_path_, ec);
        if (ec)
            fail(fmt::format("saving {}: {}", save_path_, ec.message()));
    }
}

void tftp_transfer::run_to_end(clock_type::time_point overall) {
    const auto deadline = std::min(started_ + s_.file_timeout, overall);
    // ACK the block already in hand (DATA 1), unless a stress option withholds it.
    last_sent_ = build_ack(static_cast<std::uint16_t>(next_block_ - 1));
    if (!(s_.drop_ack_block && *s_.drop_ack_block == 1))
        send_to_tid(last_sent_);
    else
        last_send_ = clock_type::now();
    int retransmits_since_progress = 0;
    bool withheld = false; // the ACK of drop_ack_block is being withheld
    clock_type::time_point withheld_until{};
    if (s_.drop_ack_block && *s_.drop_ack_block == 1) {
        // DATA 1 is already in hand: withhold its ACK instead of sending it.
        result_.ack_dropped = true;
        withheld = true;
        withheld_until = clock_type::now() + s_.server_retransmit_wait;
    }
    while (!complete_) {
        const auto wake = withheld ? withheld_until : last_send_ + s_.ack_retransmit;
        auto pkt = wait_packet(std::min(wake, deadline));
        if (!pkt) {
            if (clock_type::now() >= deadline) {
                fail(fmt::format("timed out at block {} ({} bytes)", next_block_, result_.bytes));
                return;
            }
            if (withheld) {
                // Waiting for the server to retransmit on its own; we stay silent up to a limit.
                if (clock_type::now() < withheld_until)
                    continue;
                withheld = false;
                result_.detail = fmt::format("server did not retransmit DATA {} within {} ms",
                                             *s_.drop_ack_block, s_.server_retransmit_wait.count());
            }
            if (retransmits_since_progress >= s_.max_retransmits) {
                fail(fmt::format("no DATA {} after {} ACK retransmits", next_block_,
                                 retransmits_since_progress));
                return;
            }
            ++retransmits_since_progress;
            ++result_.retransmits;
            send_to_tid(last_sent_);
            continue;
        }
        auto p = parse_tftp(*pkt);
        if (!p)
            continue;
        if (p->opcode == tftp_opcode::error) {
            result_.error_code = p->error_code;
            fail(fmt::format("ERROR {} \"{}\" at block {}", p->error_code, p->error_message,
                             next_block_));
            return;
        }
        if (p->opcode != tftp_opcode::data)
            continue;
        if (p->block == next_block_) {
            if (!accept_data(p->data))
                return;
            last_sent_ = build_ack(next_block_);
            if (s_.drop_ack_block && *s_.drop_ack_block == next_block_ && !result_.ack_dropped) {
                result_.ack_dropped = true;
                withheld = true;
                withheld_until = clock_type::now() + s_.server_retransmit_wait;
                last_send_ = clock_type::now();
            } else {
                send_to_tid(last_sent_);
            }
            if (s_.dup_ack_block && *s_.dup_ack_block == next_block_ && !result_.ack_duplicated) {
                result_.ack_duplicated = true;
                send_to_tid(last_sent_);
            }
            // Block numbers wrap 65535 → 0 (T6, bootloaders since 2025-09-23).
            next_block_ = static_cast<std::uint16_t>(next_block_ + 1);
            retransmits_since_progress = 0;
        } else if (p->block == static_cast<std::uint16_t>(next_block_ - 1)) {
            // A duplicate of the block we ACKed: re-ACK it, as bootloaders since 2021-02 do.
            if (withheld) {
                withheld = false;
                result_.server_retransmitted = true; // the answer to the withheld ACK
            } else {
                ++result_.duplicates;
            }
            send_to_tid(last_sent_);
        }
    }
    if (failed_)
        return;
    finish_fetch();
}

int tftp_transfer::late_packets(std::chrono::milliseconds grace) {
    int n = 0;
    bytes buf(2048);
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timeval))];
    for (int i = 0; i < 10000; ++i) {
        iovec iov{buf.data(), buf.size()};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        if (::recvmsg(fd_, &msg, MSG_DONTWAIT) < 0)
            break;
        bool late = true; // no timestamp: it arrived after abort_early() enabled them anyway
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMP)
                continue;
            timeval tv{};
            std::memcpy(&tv, CMSG_DATA(c), sizeof tv);
            const auto at = std::chrono::system_clock::time_point(
                std::chrono::duration_cast<std::chrono::system_clock::duration>(
                    std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec)));
            late = at >= aborted_wall_ + grace;
        }
        if (late)
            ++n;
    }
    return n;
}

} // namespace netbootd::emu
