#pragma once

#include <cstddef>

namespace netbootd::tftp {

/// A data thread's priority follows its load: it runs at `tftp.data_nice` while it serves at
/// least `busy_transfers` transfers and at the nice value it started with otherwise.
///
/// Many transfers: the thread is the one server of many waiting clients, and every microsecond
/// it queues behind other work (NFS, a compile, local processes) delays all of them; a lower nice
/// value lets it run as soon as an ACK arrives (the 60-node storm is about 10% shorter, figures in
/// docs/tftp.md). One or two transfers: a raised thread woken by an ACK preempts whatever runs on
/// that core at once, which costs two extra context switches per block and makes a lone transfer
/// slower, not faster; so it stays at its normal value.
class thread_priority {
  public:
    static constexpr std::size_t busy_transfers = 4;

    /// Remembers the calling thread's nice value; `raised` 0 turns the policy off.
    explicit thread_priority(int raised);

    /// Whether `transfers` running transfers call for the raised value (pure).
    static bool wants_raised(std::size_t transfers) { return transfers >= busy_transfers; }

    /// Called by the data thread whenever its transfer count may have changed: a syscall only
    /// when the wanted value changes. Without CAP_SYS_NICE it warns once and stops trying.
    void update(std::size_t transfers);

    bool raised() const { return raised_now_; }

  private:
    int raised_;
    int base_;
    bool raised_now_ = false;
};

} // namespace netbootd::tftp
