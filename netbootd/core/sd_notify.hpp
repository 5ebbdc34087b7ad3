// systemd readiness protocol (Type=notify): READY, STATUS, RELOADING, STOPPING and the watchdog.
// Every call is a no-op when not started by systemd.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace netbootd::sd {

void ready(std::string_view status);
void status(std::string_view status);
void reloading();
void stopping();
void watchdog();
/// The interval at which to ping the watchdog (half of WatchdogSec), if systemd enabled it.
std::optional<std::chrono::microseconds> watchdog_interval();

} // namespace netbootd::sd
