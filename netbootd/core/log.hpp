// Logging: spdlog to stderr (or the journal when started by systemd), and events to the journal
// with structured fields (EVENT=, NODE=, MAC=, IP=) so `journalctl EVENT=tftp.not_found` works.
#pragma once

#include <string_view>

#include <spdlog/spdlog.h>

#include "netbootd/core/event.hpp"

namespace netbootd {

/// Configures the default logger. `level` is trace|debug|info|warn|error; returns false for an
/// unknown level (the logger then stays at info).
bool setup_logging(std::string_view level);

/// True when stderr is connected to the journal (systemd sets JOURNAL_STREAM).
bool stderr_is_journal();

/// Writes one event to the log: packet-level kinds at debug, the rest at their severity; when the
/// journal is available also as a structured journal entry.
void log_event(const event& e);

} // namespace netbootd
