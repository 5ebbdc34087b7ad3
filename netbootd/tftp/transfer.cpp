#include "netbootd/tftp/transfer.hpp"

#include <algorithm>

namespace netbootd::tftp {

transfer::transfer(const transfer_params& p, steady_time now)
    : p_(p), nblocks_(p.size / std::max<std::uint16_t>(p.blksize, 1) + 1),
      timeout_(p.initial_timeout), deadline_(now + p.initial_timeout) {
    if (p_.blksize == 0)
        p_.blksize = 512;
    if (p_.windowsize == 0)
        p_.windowsize = 1;
}

std::size_t transfer::block_length(std::uint64_t abs) const {
    const auto off = block_offset(abs);
    if (off >= p_.size)
        return 0;
    return static_cast<std::size_t>(std::min<std::uint64_t>(p_.blksize, p_.size - off));
}

std::uint64_t transfer::bytes_acked() const {
    if (base_ <= 1)
        return 0;
    return std::min<std::uint64_t>(p_.size, (base_ - 1) * p_.blksize);
}

action transfer::send_window(steady_time now, bool retransmit) {
    action a;
    a.what = action::kind::send;
    a.retransmit = retransmit;
    deadline_ = now + timeout_;
    if (base_ == 0) {
        a.oack = true;
        return a;
    }
    const auto last = std::min<std::uint64_t>(base_ + p_.windowsize - 1, nblocks_);
    a.first = base_;
    a.count = last - base_ + 1;
    sent_hi_ = last;
    return a;
}

action transfer::start(steady_time now) {
    base_ = p_.oack ? 0 : 1;
    return send_window(now, false);
}

action transfer::on_ack(std::uint16_t block, steady_time now) {
    if (finished_)
        return {};
    // The ACK must name a block in [base_, sent_hi_]; the window is < 65536 blocks, so at most one
    // absolute block has these low 16 bits. Anything else (a duplicate of base_-1, a stale or
    // future block) is ignored: answering duplicates is the Sorcerer's Apprentice bug (T5).
    const std::uint64_t lo = base_;
    const std::uint64_t hi = std::max(sent_hi_, base_);
    const std::uint64_t cand = (lo & ~std::uint64_t{0xffff}) | block;
    std::uint64_t k = cand >= lo ? cand : cand + 0x10000;
    if (k > hi || (base_ == 0 && block != 0)) {
        ++ignored_acks_;
        return {};
    }
    if (k == nblocks_) {
        base_ = k + 1;
        finished_ = true;
        deadline_ = steady_time::max();
        action a;
        a.what = action::kind::done;
        return a;
    }
    base_ = k + 1;
    retries_ = 0;
    timeout_ = p_.initial_timeout;
    // RFC 7440: an ACK inside the window means the client lost what followed; resend from there.
    return send_window(now, false);
}

action transfer::on_timeout(steady_time now) {
    if (finished_ || now < deadline_)
        return {};
    if (++retries_ > p_.max_retries) {
        finished_ = true;
        deadline_ = steady_time::max();
        action a;
        // The last block went out but its ACK never came: like dnsmasq, count the file as sent
        // (spec T9); the client may simply have moved on.
        if (base_ == nblocks_) {
            a.what = action::kind::done;
            a.final_ack = false;
        } else {
            a.what = action::kind::timed_out;
        }
        return a;
    }
    timeout_ = std::min(timeout_ * 2, std::max(p_.max_timeout, p_.initial_timeout));
    auto a = send_window(now, true);
    retransmits_ += a.oack ? 1 : a.count;
    return a;
}

action transfer::on_error() {
    if (finished_)
        return {};
    finished_ = true;
    deadline_ = steady_time::max();
    action a;
    a.what = action::kind::aborted;
    return a;
}

} // namespace netbootd::tftp
