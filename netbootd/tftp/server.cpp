// GCC 12 reports -Wnull-dereference inside Asio's scheduler (Boost 1.74) once it is inlined into
// this file, after the headers' own scope has ended, so a push/pop around the includes does not
// help. The check stays on for every other file.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "netbootd/tftp/server.hpp"
#include "netbootd/tftp/thread_priority.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <linux/errqueue.h>
#include <mutex>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <optional>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "netbootd/tftp/file_cache.hpp"
#include "netbootd/tftp/negotiate.hpp"
#include "netbootd/tftp/packet.hpp"
#include "netbootd/tftp/resolver.hpp"
#include "netbootd/tftp/transfer.hpp"

namespace netbootd::tftp {

namespace {

namespace asio = boost::asio;
using asio::use_awaitable;
using asio::ip::udp;
using clock = std::chrono::steady_clock;

/// A transfer is keyed by the client's (address, port): a second RRQ from the same pair is a
/// retransmission (busybox re-sends after 100 ms), one from a new port is a new transfer (the
/// Pi's RRQ race, spec T4). The same key demultiplexes ACKs on the shared data socket.
struct client_key {
    std::uint32_t ip = 0;
    std::uint16_t port = 0;
    bool operator==(const client_key&) const = default;
};
struct client_key_hash {
    std::size_t operator()(const client_key& k) const noexcept {
        return std::hash<std::uint64_t>{}((std::uint64_t{k.ip} << 16) | k.port);
    }
};

client_key key_of(const sockaddr_in& a) {
    return {ntohl(a.sin_addr.s_addr), ntohs(a.sin_port)};
}

/// One running read transfer: what the final event reports, the content it sends from and the
/// pure state machine that decides what to send.
struct xfer {
    client_key key;
    sockaddr_in peer{};
    registry_ptr reg; // keeps `n` alive
    const node* n = nullptr;
    ipv4_address ip;
    nlohmann::json base;
    std::string path;
    view_source source = view_source::shared;
    content_ptr data;
    std::optional<transfer> tr;
    std::vector<std::uint8_t> oack;
    /// For content read from a descriptor (files above the cache limit): one window of blocks.
    std::vector<std::uint8_t> scratch;
    clock::time_point started;
};

std::string_view expected_early_terminate = "Early terminate";

/// A client-chosen name as it may appear in events and log lines: control and non-ASCII bytes
/// become '?', so a hostile name cannot forge log lines or terminal escapes.
std::string printable(std::string_view s) {
    std::string out(s.substr(0, 255));
    for (auto& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f)
            c = '?';
    }
    return out;
}

/// Outgoing datagrams collected while a batch of ACKs is handled, sent with one sendmmsg. A DATA
/// datagram is a 4-byte header plus a view of the cached file (no copy); a window may be one GSO
/// datagram (UDP_SEGMENT per message) that the kernel cuts into blocks.
class send_batch {
  public:
    static constexpr std::size_t max_msgs = 256;
    static constexpr std::size_t max_iov = 1024;

    bool has_room(std::size_t iovs) const {
        return count_ < max_msgs && iov_used_ + iovs <= max_iov && hdr_used_ + iovs <= max_iov;
    }
    bool empty() const { return count_ == 0; }

    void begin(const sockaddr_in& to) {
        addrs_[count_] = to;
        auto& m = msgs_[count_].msg_hdr;
        m = msghdr{};
        m.msg_name = &addrs_[count_];
        m.msg_namelen = sizeof(sockaddr_in);
        m.msg_iov = &iov_[iov_used_];
        m.msg_iovlen = 0;
    }
    void add(const void* p, std::size_t len) {
        iov_[iov_used_++] = iovec{const_cast<void*>(p), len};
        ++msgs_[count_].msg_hdr.msg_iovlen;
    }
    void add_header(std::uint16_t block) {
        hdrs_[hdr_used_] = data_header(block);
        add(hdrs_[hdr_used_++].data(), 4);
    }
    void set_gso(std::uint16_t segment) {
        auto& buf = cmsgs_[count_];
        auto& m = msgs_[count_].msg_hdr;
        m.msg_control = buf.data();
        m.msg_controllen = buf.size();
        cmsghdr* c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof segment);
        std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
    }
    void end() { ++count_; }

    /// Sends everything queued. Datagrams the kernel has no room for are dropped: the transfer's
    /// timeout sends them again. Returns false if a GSO datagram was refused (no GSO on this
    /// path), so the caller stops using it.
    bool flush(int fd) {
        bool gso_ok = true;
        std::size_t i = 0;
        for (int guard = 0; i < count_ && guard < 1024; ++guard) {
            const int r =
                ::sendmmsg(fd, &msgs_[i], static_cast<unsigned>(count_ - i), MSG_DONTWAIT);
            if (r > 0) {
                i += static_cast<std::size_t>(r);
                continue;
            }
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0 && (errno == EIO || errno == EINVAL) && msgs_[i].msg_hdr.msg_control)
                gso_ok = false;
            // EAGAIN/ENOBUFS, an unreachable client or a refused GSO datagram: skip this one.
            ++i;
        }
        count_ = iov_used_ = hdr_used_ = 0;
        return gso_ok;
    }

  private:
    struct alignas(cmsghdr) gso_cmsg : std::array<char, CMSG_SPACE(sizeof(std::uint16_t))> {};

    std::size_t count_ = 0, iov_used_ = 0, hdr_used_ = 0;
    std::array<mmsghdr, max_msgs> msgs_{};
    std::array<sockaddr_in, max_msgs> addrs_{};
    std::array<gso_cmsg, max_msgs> cmsgs_{};
    std::array<iovec, max_iov> iov_{};
    std::array<std::array<std::uint8_t, 4>, max_iov> hdrs_{};
};

/// Incoming datagrams of one recvmmsg.
struct recv_batch {
    static constexpr std::size_t max_msgs = 64;
    static constexpr std::size_t max_len = 512; // ACK 4, ERROR up to 4 + 255 + 1
    std::array<mmsghdr, max_msgs> msgs{};
    std::array<sockaddr_in, max_msgs> addrs{};
    std::array<iovec, max_msgs> iov{};
    std::array<std::array<std::uint8_t, max_len>, max_msgs> bufs{};

    void reset() {
        for (std::size_t i = 0; i < max_msgs; ++i) {
            iov[i] = iovec{bufs[i].data(), max_len};
            auto& m = msgs[i].msg_hdr;
            m = msghdr{};
            m.msg_name = &addrs[i];
            m.msg_namelen = sizeof(sockaddr_in);
            m.msg_iov = &iov[i];
            m.msg_iovlen = 1;
            msgs[i].msg_len = 0;
        }
    }
};

/// What a worker reports back to the service's thread: a transfer's final event, or a datagram
/// from an (address, port) that has no transfer. Events are published there only: the event bus
/// and the rest of the daemon live on the one io_context.
struct report {
    client_key key;
    std::string kind;
    severity level = severity::info;
    registry_ptr reg; // keeps `n` alive
    const node* n = nullptr;
    nlohmann::json fields;
    bool ends_transfer = true;
};

class server;

/// A data-path thread: one data socket (its own server port), the transfers whose first reply
/// went out from it, a send batch and a 100 ms sweep. Everything here runs on the worker's own
/// thread, a plain level-triggered epoll loop over the data socket and an eventfd for
/// hand-overs (no executor between a readable socket and recvmmsg: the data path is a few
/// syscalls per wake-up); outcomes are posted back to the service's io_context.
class worker {
  public:
    worker(asio::io_context& main_io, std::function<void(report)> on_report)
        : main_io_(main_io), on_report_(std::move(on_report)) {}
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;
    ~worker() { close_fds(); }

    /// Opens the socket and starts the thread, raised to `nice` while busy (thread_priority; called
    /// on the service's thread).
    void start(int nice) {
        open_data_socket();
        epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
        wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (epoll_ < 0 || wake_ < 0)
            throw std::runtime_error(fmt::format("tftp: epoll/eventfd: {}", std::strerror(errno)));
        for (const int fd : {fd_, wake_}) {
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.fd = fd;
            if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0)
                throw std::runtime_error(fmt::format("tftp: epoll_ctl: {}", std::strerror(errno)));
        }
        stopping_ = false;
        thread_ = std::thread([this, nice] { run(nice); });
    }

    /// Stops the thread and returns the transfers it still held or had not yet taken over
    /// (called on the service's thread; after this nothing runs on the worker).
    std::vector<std::unique_ptr<xfer>> stop() {
        if (thread_.joinable()) {
            stopping_ = true;
            wake();
            thread_.join();
        }
        std::vector<std::unique_ptr<xfer>> left;
        for (auto& [k, x] : xfers_)
            left.push_back(std::move(x));
        xfers_.clear();
        retired_.clear();
        const std::lock_guard lock(pending_mutex_);
        for (auto& x : pending_)
            left.push_back(std::move(x));
        pending_.clear();
        close_fds();
        return left;
    }

    /// Takes over a resolved transfer; the worker sends its first packet (called on any thread).
    void hand_over(std::unique_ptr<xfer> x) {
        bool first = false;
        {
            const std::lock_guard lock(pending_mutex_);
            first = pending_.empty();
            pending_.push_back(std::move(x));
        }
        if (first)
            wake(); // one eventfd write per burst of hand-overs
    }

    int fd() const { return fd_; }
    std::uint16_t port() const { return port_; }

  private:
    void wake() {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(wake_, &one, sizeof one);
    }

    void close_fds() {
        for (int* fd : {&fd_, &epoll_, &wake_})
            if (*fd >= 0) {
                ::close(*fd);
                *fd = -1;
            }
    }

    /// The loop: wait for ACKs, hand-overs or the next sweep; drain; answer; repeat.
    void run(int nice) {
        thread_priority priority(nice);
        auto rx = std::make_unique<recv_batch>();
        std::array<epoll_event, 2> evs{};
        while (!stopping_) {
            int timeout_ms = -1;
            if (!xfers_.empty()) {
                const auto left =
                    std::chrono::ceil<std::chrono::milliseconds>(next_sweep_ - clock::now());
                timeout_ms = static_cast<int>(std::max<std::int64_t>(left.count(), 0));
            }
            const int n =
                ::epoll_wait(epoll_, evs.data(), static_cast<int>(evs.size()), timeout_ms);
            if (n < 0 && errno != EINTR) {
                spdlog::error("tftp: epoll_wait: {}", std::strerror(errno));
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            if (stopping_)
                break;
            try {
                for (int i = 0; i < n; ++i) {
                    if (evs[i].data.fd == wake_) {
                        take_over_pending();
                        continue;
                    }
                    // An ICMP error on the queue (IP_RECVERR) keeps a level-triggered EPOLLERR up
                    // until it is read.
                    if (evs[i].events & EPOLLERR)
                        drain_errors();
                    drain(*rx, 64);
                }
                if (!xfers_.empty() && clock::now() >= next_sweep_)
                    sweep();
            } catch (const std::exception& ex) {
                spdlog::error("tftp: data path: {}", ex.what());
                flush();
            }
            retired_.clear();
            priority.update(xfers_.size());
        }
    }

    /// Installs the transfers handed over since the last wake-up and sends their first packets.
    void take_over_pending() {
        std::uint64_t count = 0;
        [[maybe_unused]] const auto r = ::read(wake_, &count, sizeof count);
        std::vector<std::unique_ptr<xfer>> taken;
        {
            const std::lock_guard lock(pending_mutex_);
            taken.swap(pending_);
        }
        for (auto& owned : taken) {
            if (xfers_.empty())
                next_sweep_ = clock::now() + sweep_period;
            auto& ref = *owned;
            xfers_[ref.key] = std::move(owned);
            try {
                step(ref, ref.tr->start(clock::now()));
            } catch (const std::exception& ex) {
                spdlog::error("tftp: start: {}", ex.what());
            }
        }
        flush();
    }

    /// The socket all of this worker's transfers send from and receive on (one server TID for
    /// many transfers: RFC 1350 lets the server pick any; clients lock onto it with the first
    /// reply). ACKs are demultiplexed by the client's (address, port), so a batch of ACKs from
    /// many transfers is one recvmmsg and the DATA they trigger one sendmmsg.
    void open_data_socket() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd_ < 0)
            throw std::runtime_error(fmt::format("tftp: data socket: {}", std::strerror(errno)));
        sockaddr_in any{};
        any.sin_family = AF_INET;
        socklen_t len = sizeof any;
        if (::bind(fd_, reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&any), &len) != 0)
            throw std::runtime_error(fmt::format("tftp: data socket: {}", std::strerror(errno)));
        port_ = ntohs(any.sin_port);
        const int fd = fd_;
        // All transfers share these queues: room for a burst of ACKs from every client and a
        // window of DATA for each.
        int bytes = 8 << 20;
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
        // ICMP port unreachable for a client that is gone lands on the error queue with the
        // client's address, so its transfer ends at once instead of retransmitting into nothing.
        int on = 1;
        ::setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof on);
        // UDP GSO is probed once; a kernel without it gets one datagram per block.
        int zero = 0;
        gso_ = ::setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof zero) == 0;
    }

    void send_error_to(const sockaddr_in& to, error_code code, std::string_view msg) {
        std::vector<std::uint8_t> b;
        encode_to(b, error_packet{static_cast<std::uint16_t>(code), std::string(msg)});
        ::sendto(fd_, b.data(), b.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to),
                 sizeof to);
    }

    /// Up to `rounds` recvmmsg batches, answering every ACK of a batch with one sendmmsg. A short
    /// batch means the socket is empty: back to epoll, which (level-triggered) returns at once if
    /// more arrived meanwhile, so no extra recvmmsg just to see EAGAIN.
    void drain(recv_batch& rx, int rounds) {
        const int fd = fd_;
        for (int round = 0; round < rounds; ++round) {
            rx.reset();
            const int r =
                ::recvmmsg(fd, rx.msgs.data(), recv_batch::max_msgs, MSG_DONTWAIT, nullptr);
            if (r < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    return;
                if (errno == EINTR)
                    continue;
                // ECONNREFUSED and friends: an ICMP error is queued (IP_RECVERR).
                drain_errors();
                continue;
            }
            const auto now = clock::now();
            for (std::size_t i = 0; i < static_cast<std::size_t>(r); ++i) {
                const auto& m = rx.msgs[i];
                if (m.msg_hdr.msg_namelen < sizeof(sockaddr_in) ||
                    rx.addrs[i].sin_family != AF_INET)
                    continue;
                on_datagram(rx.addrs[i],
                            std::span<const std::uint8_t>(rx.bufs[i].data(), m.msg_len), now);
            }
            flush();
            if (static_cast<std::size_t>(r) < recv_batch::max_msgs)
                return;
        }
    }

    void on_datagram(const sockaddr_in& from, std::span<const std::uint8_t> bytes,
                     clock::time_point now) {
        const auto key = key_of(from);
        auto it = xfers_.find(key);
        if (it == xfers_.end()) {
            unknown_tid(from, bytes);
            return;
        }
        xfer& x = *it->second;
        // Fast path for the packet that matters: ACK (opcode 4, block).
        if (bytes.size() == 4 && bytes[0] == 0 && bytes[1] == 4) {
            const auto block = static_cast<std::uint16_t>((bytes[2] << 8) | bytes[3]);
            step(x, x.tr->on_ack(block, now));
            return;
        }
        auto pkt = decode(bytes);
        if (!pkt)
            return;
        if (auto* ack = std::get_if<ack_packet>(&*pkt)) {
            step(x, x.tr->on_ack(ack->block, now));
        } else if (auto* err = std::get_if<error_packet>(&*pkt)) {
            x.tr->on_error();
            if (err->code == 0 && iequals(err->message, expected_early_terminate)) {
                finish(x, "tftp.early_terminate", nlohmann::json::object(), true);
            } else {
                finish(x, "tftp.error",
                       {{"reason", "client error"},
                        {"client_code", err->code},
                        {"client_message", printable(err->message)}},
                       true);
            }
        }
    }

    /// A datagram on the data socket from an (address, port) with no transfer here: RFC 1350
    /// answers ERROR 5 and leaves every transfer alone. ERRORs are never answered (no loops).
    void unknown_tid(const sockaddr_in& from, std::span<const std::uint8_t> bytes) {
        ++unknown_tids_;
        const bool is_error = bytes.size() >= 2 && bytes[0] == 0 && bytes[1] == 5;
        if (!is_error)
            send_error_to(from, error_code::unknown_tid, "Unknown transfer ID");
        report r;
        r.key = key_of(from);
        r.kind = "tftp.malformed";
        r.level = severity::debug;
        r.ends_transfer = false;
        r.fields = {{"reason", "unknown_transfer_id"},
                    {"port", r.key.port},
                    {"size", bytes.size()},
                    {"count", unknown_tids_}};
        post_report(std::move(r));
    }

    /// ICMP errors for datagrams sent from here (IP_RECVERR): a client whose port is closed ends
    /// its transfer now.
    void drain_errors() {
        const int fd = fd_;
        for (int i = 0; i < 256; ++i) {
            sockaddr_in to{};
            std::array<std::uint8_t, 64> payload{};
            alignas(cmsghdr) std::array<char, 512> control{};
            iovec iov{payload.data(), payload.size()};
            msghdr m{};
            m.msg_name = &to;
            m.msg_namelen = sizeof to;
            m.msg_iov = &iov;
            m.msg_iovlen = 1;
            m.msg_control = control.data();
            m.msg_controllen = control.size();
            if (::recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
                return;
            for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
                if (c->cmsg_level != SOL_IP || c->cmsg_type != IP_RECVERR)
                    continue;
                sock_extended_err e{};
                std::memcpy(&e, CMSG_DATA(c), sizeof e);
                if (e.ee_errno != ECONNREFUSED && e.ee_errno != EHOSTUNREACH &&
                    e.ee_errno != ENETUNREACH)
                    continue;
                auto it = xfers_.find(key_of(to));
                if (it != xfers_.end())
                    finish(*it->second, "tftp.error", {{"reason", "client unreachable"}}, true);
            }
        }
    }

    /// Carries out what the state machine decided.
    void step(xfer& x, const action& a) {
        switch (a.what) {
        case action::kind::none:
        case action::kind::aborted:
            return;
        case action::kind::send:
            queue_send(x, a);
            return;
        case action::kind::done:
            finish(x, "tftp.sent", nlohmann::json::object(), a.final_ack);
            return;
        case action::kind::timed_out:
            finish(x, "tftp.timeout", nlohmann::json::object(), true);
            return;
        }
    }

    /// Queues the OACK or DATA blocks [first, first + count) of `x`: header + a view of the cached
    /// file per block (no copy), or one GSO datagram per run of blocks when there is a window.
    void queue_send(xfer& x, const action& a) {
        if (a.oack) {
            if (!tx_.has_room(1))
                flush();
            tx_.begin(x.peer);
            tx_.add(x.oack.data(), x.oack.size());
            tx_.end();
            return;
        }
        const auto& tr = *x.tr;
        const std::size_t blksize = tr.params().blksize;
        std::uint64_t b = a.first;
        const std::uint64_t end = a.first + a.count;
        std::error_code rec;
        if (!x.data->in_memory()) {
            // Files above the cache limit: read into the transfer's one-window scratch buffer and
            // send before anything can reuse it.
            flush();
            for (std::size_t slot = 0; b < end; ++b, ++slot) {
                const auto off = (slot * blksize) % std::max<std::size_t>(x.scratch.size(), 1);
                auto payload =
                    x.data->read(tr.block_offset(b), tr.block_length(b),
                                 std::span<std::uint8_t>(x.scratch).subspan(off, blksize), rec);
                if (rec) {
                    send_error_to(x.peer, error_code::not_defined, "read error");
                    finish(x, "tftp.error", {{"reason", "read " + x.path + ": " + rec.message()}},
                           true);
                    return;
                }
                if (!tx_.has_room(2))
                    flush();
                tx_.begin(x.peer);
                tx_.add_header(transfer::wire_block(b));
                tx_.add(payload.data(), payload.size());
                tx_.end();
            }
            flush();
            return;
        }
        const std::uint64_t per_gso =
            std::clamp<std::uint64_t>(65000 / (blksize + 4), 1, max_gso_blocks);
        while (gso_ && end - b > 1) {
            const auto nblk = std::min<std::uint64_t>(per_gso, end - b);
            if (!tx_.has_room(2 * nblk))
                flush();
            tx_.begin(x.peer);
            for (std::uint64_t i = 0; i < nblk; ++i) {
                tx_.add_header(transfer::wire_block(b + i));
                auto payload =
                    x.data->read(tr.block_offset(b + i), tr.block_length(b + i), {}, rec);
                tx_.add(payload.data(), payload.size());
            }
            tx_.set_gso(static_cast<std::uint16_t>(blksize + 4));
            tx_.end();
            b += nblk;
        }
        for (; b < end; ++b) {
            if (!tx_.has_room(2))
                flush();
            tx_.begin(x.peer);
            tx_.add_header(transfer::wire_block(b));
            auto payload = x.data->read(tr.block_offset(b), tr.block_length(b), {}, rec);
            tx_.add(payload.data(), payload.size());
            tx_.end();
        }
    }

    void flush() {
        if (tx_.empty())
            return;
        if (!tx_.flush(fd_) && gso_) {
            gso_ = false; // the timeout resends those windows block by block
            spdlog::warn("tftp: UDP GSO refused by the kernel; sending one datagram per block");
        }
    }

    /// Ends `x` and reports its final event. The transfer object lives on in retired_ until the
    /// pending batch went out (queued datagrams point into its content).
    void finish(xfer& x, std::string_view outcome, nlohmann::json extra, bool final_ack) {
        report r;
        r.key = x.key;
        r.kind = std::string(outcome);
        r.reg = x.reg;
        r.n = x.n;
        r.fields = final_fields(x, outcome, std::move(extra), final_ack);
        r.level = outcome == "tftp.sent" || outcome == "tftp.early_terminate" ? severity::info
                                                                              : severity::warning;
        post_report(std::move(r));
        auto it = xfers_.find(x.key);
        if (it == xfers_.end())
            return;
        retired_.push_back(std::move(it->second));
        xfers_.erase(it);
    }

    void post_report(report r) {
        asio::post(main_io_, [cb = on_report_, r = std::move(r)]() mutable { cb(std::move(r)); });
    }

  public:
    /// The fields of a transfer's final event (tftp.sent, tftp.timeout, ...).
    static nlohmann::json final_fields(const xfer& x, std::string_view outcome,
                                       nlohmann::json extra, bool final_ack) {
        const auto& tr = *x.tr;
        const auto dur = std::chrono::duration<double, std::milli>(clock::now() - x.started);
        auto f = x.base;
        f["path"] = printable(x.path);
        f["source"] = to_string(x.source);
        f["size"] = x.data->size();
        f["blksize"] = tr.params().blksize;
        f["windowsize"] = tr.params().windowsize;
        f["duration_ms"] = std::round(dur.count() * 10) / 10;
        f["retransmits"] = tr.retransmits();
        if (outcome == "tftp.sent") {
            f["bytes"] = x.data->size();
            f["final_ack"] = final_ack;
            if (dur.count() > 0)
                f["mbps"] =
                    std::round(static_cast<double>(x.data->size()) / dur.count() / 1e3 * 100) / 100;
        } else {
            f["bytes"] = tr.bytes_acked();
        }
        for (auto& [k, v] : extra.items())
            f[k] = v;
        return f;
    }

  private:
    /// One 100 ms tick for all of this worker's transfers instead of a timer per block: runs the
    /// state machine's timeout for every transfer whose deadline passed. With no transfers the
    /// loop waits without a timeout.
    void sweep() {
        const auto now = clock::now();
        next_sweep_ = now + sweep_period;
        due_.clear();
        for (auto& [k, x] : xfers_)
            if (x->tr->deadline() <= now)
                due_.push_back(x.get());
        for (auto* x : due_)
            step(*x, x->tr->on_timeout(now));
        flush();
    }

    static constexpr auto sweep_period = std::chrono::milliseconds(100);
    static constexpr std::uint64_t max_gso_blocks = 64;

    asio::io_context& main_io_;
    std::function<void(report)> on_report_;
    int fd_ = -1;    // the data socket
    int epoll_ = -1; // fd_ and wake_, level-triggered
    int wake_ = -1;  // eventfd: hand-overs pending, or stop
    std::thread thread_;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_ = false;
    bool gso_ = false;
    clock::time_point next_sweep_{};
    std::vector<xfer*> due_;
    std::mutex pending_mutex_;
    std::vector<std::unique_ptr<xfer>> pending_;
    std::unordered_map<client_key, std::unique_ptr<xfer>, client_key_hash> xfers_;
    std::vector<std::unique_ptr<xfer>> retired_;
    send_batch tx_;
    std::uint64_t unknown_tids_ = 0;
};

/// Data-path threads: one by default. A thread sleeps in epoll when its socket is empty and every
/// wake-up is a context switch, the largest single cost of the data path; with one thread each
/// wake-up finds the ACKs of every transfer waiting, with many each finds a few. One thread moves
/// about 400,000 lock-step 512-byte blocks a second on one core of the 2-core reference machine
/// (more than a gigabit link carries at that size); raise it for faster links.
/// The count is `tftp.data_threads`; NETBOOTD_TFTP_DATA_THREADS (1-64) overrides it, for
/// benchmarks and diagnosis. The data threads' nice value while busy (thread_priority.hpp) is
/// `tftp.data_nice`; NETBOOTD_TFTP_DATA_NICE (-20..19) overrides it, for A/B benchmarks.
///
/// `value` clamped to [lo, hi], unless the environment variable `name` holds a whole number in
/// that range, which wins.
int setting_or_env(const char* name, int value, int lo, int hi) {
    if (const char* env = std::getenv(name)) {
        char* end = nullptr;
        const long v = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && v >= lo && v <= hi)
            return static_cast<int>(v);
    }
    return std::clamp(value, lo, hi);
}

class server final : public netbootd::service {
  public:
    explicit server(service_context& ctx) : ctx_(ctx), listen_(ctx.io) {}
    // Joins the threads only: the event bus may already be gone.
    ~server() override { stop_workers(false); }

    std::string_view name() const override { return "tftp"; }

    void start() override {
        const auto reg = ctx_.registry.get();
        const auto& t = reg->config().tftp;
        udp::endpoint ep(asio::ip::address_v4::any(), t.port);
        boost::system::error_code ec;
        listen_.open(udp::v4(), ec);
        if (!ec)
            listen_.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec)
            listen_.bind(ep, ec);
        if (ec)
            throw std::runtime_error(
                fmt::format("tftp: bind 0.0.0.0:{}: {}", t.port, ec.message()));
        stopping_ = false;
        std::string ports;
        const auto threads = static_cast<unsigned>(
            setting_or_env("NETBOOTD_TFTP_DATA_THREADS", t.data_threads, 1, 64));
        const int nice = setting_or_env("NETBOOTD_TFTP_DATA_NICE", t.data_nice, -20, 19);
        for (unsigned i = 0; i < threads; ++i) {
            auto w =
                std::make_unique<worker>(ctx_.io, [this](report r) { on_report(std::move(r)); });
            w->start(nice);
            ports += (ports.empty() ? "" : ",") + std::to_string(w->port());
            workers_.push_back(std::move(w));
        }
        spawn(receive_loop());
        spdlog::info("tftp: listening on 0.0.0.0:{}, transfers from ports {} (root {})", t.port,
                     ports, t.root.string());
    }

    void stop() override {
        stopping_ = true;
        boost::system::error_code ec;
        listen_.close(ec);
        stop_workers(true);
    }

  private:
    void stop_workers(bool report) {
        for (auto& w : workers_) {
            for (auto& x : w->stop()) {
                if (!report)
                    continue;
                auto f =
                    worker::final_fields(*x, "tftp.error", {{"reason", "server stopping"}}, true);
                publish("tftp.error", severity::warning, x->n, x->ip, std::move(f));
                forget(x->key);
            }
        }
        workers_.clear();
    }

    template <typename Awaitable> void spawn(Awaitable&& a) {
        asio::co_spawn(ctx_.io, std::forward<Awaitable>(a), [](std::exception_ptr e) {
            if (!e)
                return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                spdlog::error("tftp: coroutine ended: {}", ex.what());
            }
        });
    }

    void publish(std::string kind, severity level, const node* n, ipv4_address ip,
                 nlohmann::json fields) {
        event e;
        e.source = "tftp";
        e.kind = std::move(kind);
        e.level = level;
        e.ip = ip;
        if (n) {
            e.position = n->position;
            e.mac = n->mac;
        }
        e.fields = std::move(fields);
        ctx_.events.publish(std::move(e));
    }

    /// A worker's report, on the service's thread.
    void on_report(report r) {
        const ipv4_address ip{r.key.ip};
        const node* n = r.n;
        registry_ptr reg;
        if (!n) { // a stray datagram: tie it to the node at that address, if any
            reg = ctx_.registry.get();
            n = reg->by_ip(ip);
        }
        publish(std::move(r.kind), r.level, n, ip, std::move(r.fields));
        if (r.ends_transfer)
            forget(r.key);
    }

    void forget(client_key key) {
        if (active_.erase(key) == 0)
            return;
        if (--per_client_[key.ip] <= 0)
            per_client_.erase(key.ip);
    }

    /// Sends an ERROR from the data port the next transfer would use (spec T2: a miss is answered
    /// from a transfer port, not from port 69).
    void send_error_to(const sockaddr_in& to, error_code code, std::string_view msg) {
        std::vector<std::uint8_t> b;
        encode_to(b, error_packet{static_cast<std::uint16_t>(code), std::string(msg)});
        ::sendto(workers_[next_worker_ % workers_.size()]->fd(), b.data(), b.size(), MSG_DONTWAIT,
                 reinterpret_cast<const sockaddr*>(&to), sizeof to);
    }

    asio::awaitable<void> receive_loop() {
        std::array<std::uint8_t, 2048> buf{};
        udp::endpoint from;
        while (!stopping_) {
            boost::system::error_code ec;
            const auto n = co_await listen_.async_receive_from(
                asio::buffer(buf), from, asio::redirect_error(use_awaitable, ec));
            if (stopping_)
                break;
            if (ec) {
                if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
                    break;
                spdlog::warn("tftp: receive: {}, ignoring", ec.message());
                continue;
            }
            try {
                handle_request(std::span<const std::uint8_t>(buf.data(), n), from);
            } catch (const std::exception& ex) {
                spdlog::error("tftp: request from {}: {}", from.address().to_string(), ex.what());
            }
        }
    }

    void handle_request(std::span<const std::uint8_t> bytes, const udp::endpoint& from) {
        if (!from.address().is_v4())
            return;
        const ipv4_address ip{from.address().to_v4().to_uint()};
        auto pkt = decode(bytes);
        const auto reg = ctx_.registry.get();
        if (!pkt) {
            publish("tftp.malformed", severity::debug, reg->by_ip(ip), ip,
                    {{"reason", to_string(pkt.error())},
                     {"port", from.port()},
                     {"size", bytes.size()}});
            return;
        }
        auto* req = std::get_if<request>(&*pkt);
        if (!req) {
            // DATA/ACK/ERROR/OACK belong on a transfer port; on the listen port they are stray.
            publish("tftp.malformed", severity::debug, reg->by_ip(ip), ip,
                    {{"reason", "not_a_request"}, {"port", from.port()}});
            return;
        }
        if (req->write) {
            std::vector<std::uint8_t> b;
            encode_to(b, error_packet{static_cast<std::uint16_t>(error_code::access_violation),
                                      "read-only server"});
            boost::system::error_code ec;
            listen_.send_to(asio::buffer(b), from, 0, ec);
            publish("tftp.refused", severity::warning, reg->by_ip(ip), ip,
                    {{"file", printable(req->filename)},
                     {"port", from.port()},
                     {"reason", "write request"}});
            return;
        }
        const client_key key{ip.value, from.port()};
        if (active_.contains(key)) {
            ++duplicate_rrqs_;
            return; // A retransmitted RRQ: the transfer already answers it.
        }
        const auto& t = reg->config().tftp;
        if (active_.size() >= static_cast<std::size_t>(t.max_transfers) ||
            per_client_[ip.value] >= t.max_transfers_per_client) {
            // Dropped, not refused: the client re-sends its RRQ, and a Pi would take an ERROR for a
            // missing file.
            if (per_client_[ip.value] == 0)
                per_client_.erase(ip.value);
            publish("tftp.refused", severity::warning, reg->by_ip(ip), ip,
                    {{"file", printable(req->filename)},
                     {"port", from.port()},
                     {"reason", "transfer limit"},
                     {"active", active_.size()}});
            return;
        }
        sockaddr_in peer{};
        peer.sin_family = AF_INET;
        peer.sin_addr.s_addr = htonl(ip.value);
        peer.sin_port = htons(from.port());
        start_transfer(reg, key, peer, *req);
    }

    /// Resolves the request; when there is something to send, hands the transfer to a data
    /// worker, which sends its first packet. Misses and refusals are answered here.
    void start_transfer(const registry_ptr& reg, client_key key, const sockaddr_in& peer,
                        const request& req) {
        const auto started = clock::now();
        const ipv4_address ip{key.ip};
        const node* n = reg->by_ip(ip);
        auto res = resolver_.resolve(*reg, ip, req.filename);
        if (res.for_node)
            n = res.for_node;
        nlohmann::json opts = nlohmann::json::object();
        for (const auto& o : req.options)
            opts[o.name] = o.value;
        const char* result = res.result == resolution::status::found       ? "found"
                             : res.result == resolution::status::not_found ? "not_found"
                             : res.result == resolution::status::refused   ? "refused"
                                                                           : "failed";
        nlohmann::json base = {{"file", printable(req.filename)}, {"port", key.port}};
        if (!res.prefix.empty())
            base["prefix"] = res.prefix;
        auto rrq = base;
        rrq["mode"] = req.mode;
        rrq["options"] = opts;
        rrq["path"] = printable(res.path);
        rrq["result"] = result;
        if (res.result == resolution::status::found)
            rrq["source"] = to_string(res.source);
        publish("tftp.rrq", severity::debug, n, ip, rrq);

        switch (res.result) {
        case resolution::status::found:
            break;
        case resolution::status::not_found: {
            send_error_to(peer, error_code::file_not_found, "File not found");
            auto f = base;
            f["path"] = printable(res.path);
            f["expected"] = res.expected_probe;
            if (res.unknown_prefix)
                f["unknown_prefix"] = true;
            publish("tftp.not_found", res.expected_probe ? severity::debug : severity::warning, n,
                    ip, f);
            return;
        }
        case resolution::status::refused: {
            send_error_to(peer, error_code::access_violation, "Access violation");
            auto f = base;
            f["reason"] = res.reason;
            publish("tftp.refused", severity::warning, n, ip, f);
            return;
        }
        case resolution::status::failed: {
            send_error_to(peer, error_code::not_defined, "Server error");
            auto f = base;
            f["reason"] = res.reason;
            publish("tftp.error", severity::error, n, ip, f);
            return;
        }
        }

        content_ptr data = res.data;
        if (iequals(req.mode, "mail")) {
            send_error_to(peer, error_code::illegal_operation, "mail mode not supported");
            auto f = base;
            f["reason"] = "mail mode";
            publish("tftp.refused", severity::warning, n, ip, f);
            return;
        }
        if (iequals(req.mode, "netascii")) {
            if (!data->in_memory()) {
                send_error_to(peer, error_code::not_defined,
                              "netascii not supported for this file");
                return;
            }
            data = std::make_shared<memory_content>(
                to_netascii(static_cast<const memory_content&>(*data).bytes()));
        }

        const auto& t = reg->config().tftp;
        const auto neg = negotiate(req.options, data->size(), {t.max_blksize, t.max_windowsize});
        transfer_params p;
        p.size = data->size();
        p.blksize = neg.blksize;
        p.windowsize = neg.windowsize;
        p.oack = !neg.oack.empty();
        if (neg.timeout_s) {
            p.initial_timeout = std::chrono::seconds(*neg.timeout_s);
            p.max_timeout = p.initial_timeout;
        }

        auto x = std::make_unique<xfer>();
        x->key = key;
        x->peer = peer;
        x->reg = reg;
        x->n = n;
        x->ip = ip;
        x->base = std::move(base);
        x->path = std::move(res.path);
        x->source = res.source;
        x->data = std::move(data);
        x->started = started;
        x->tr.emplace(p, clock::now());
        if (p.oack)
            encode_to(x->oack, oack_packet{neg.oack});
        if (!x->data->in_memory())
            x->scratch.resize(std::size_t{p.blksize} * p.windowsize);
        active_.insert(key);
        ++per_client_[ip.value];
        // Round robin over the workers: the transfer's first reply goes out from that worker's
        // port, so the client's ACKs come back to it.
        workers_[next_worker_++ % workers_.size()]->hand_over(std::move(x));
    }

    service_context& ctx_;
    udp::socket listen_;
    bool stopping_ = false;
    file_cache cache_;
    resolver resolver_{cache_};
    std::vector<std::unique_ptr<worker>> workers_;
    std::size_t next_worker_ = 0;
    /// Transfers handed to a worker and not yet reported finished (for duplicate RRQs and limits).
    std::unordered_set<client_key, client_key_hash> active_;
    std::unordered_map<std::uint32_t, int> per_client_;
    std::uint64_t duplicate_rrqs_ = 0;
};

} // namespace

std::unique_ptr<netbootd::service> make_service(service_context& ctx) {
    return std::make_unique<server>(ctx);
}

} // namespace netbootd::tftp
