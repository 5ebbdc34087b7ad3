#include "netbootd/core/sd_notify.hpp"

#include <string>
#include <time.h>

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

namespace netbootd::sd {

void ready(std::string_view s) {
    sd_notify(0, fmt::format("READY=1\nSTATUS={}", s).c_str());
}
void status(std::string_view s) {
    sd_notify(0, fmt::format("STATUS={}", s).c_str());
}
void reloading() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const auto usec = static_cast<long long>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
    sd_notify(0, fmt::format("RELOADING=1\nMONOTONIC_USEC={}", usec).c_str());
}
void stopping() {
    sd_notify(0, "STOPPING=1");
}
void watchdog() {
    sd_notify(0, "WATCHDOG=1");
}

std::optional<std::chrono::microseconds> watchdog_interval() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        return std::chrono::microseconds(usec / 2);
    return std::nullopt;
}

} // namespace netbootd::sd
