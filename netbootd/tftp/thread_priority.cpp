#include "netbootd/tftp/thread_priority.hpp"

#include <cerrno>
#include <cstring>
#include <sys/resource.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace netbootd::tftp {

namespace {

id_t this_thread() {
    return static_cast<id_t>(::gettid());
}

} // namespace

thread_priority::thread_priority(int raised) : raised_(raised) {
    errno = 0;
    const int now = ::getpriority(PRIO_PROCESS, this_thread());
    base_ = errno == 0 ? now : 0;
    if (raised_ == base_)
        raised_ = 0; // nothing to change
}

void thread_priority::update(std::size_t transfers) {
    if (raised_ == 0)
        return;
    const bool want = wants_raised(transfers);
    if (want == raised_now_)
        return;
    if (::setpriority(PRIO_PROCESS, this_thread(), want ? raised_ : base_) != 0) {
        spdlog::warn("tftp: data thread stays at nice {}, not tftp.data_nice {}: {}", base_,
                     raised_, std::strerror(errno));
        raised_ = 0;
        return;
    }
    raised_now_ = want;
}

} // namespace netbootd::tftp
