#include "netbootd/core/log.hpp"

#include <cstdlib>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <systemd/sd-journal.h>

namespace netbootd {

bool stderr_is_journal() {
    return std::getenv("JOURNAL_STREAM") != nullptr;
}

bool setup_logging(std::string_view level) {
    auto logger = spdlog::stderr_color_mt("netbootd");
    // Under systemd the journal adds its own timestamp and identifier.
    logger->set_pattern(stderr_is_journal() ? "<%l> %v" : "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
    spdlog::set_default_logger(logger);
    auto lvl = spdlog::level::from_str(std::string(level));
    if (lvl == spdlog::level::off && level != "off") {
        spdlog::set_level(spdlog::level::info);
        return false;
    }
    spdlog::set_level(lvl);
    return true;
}

namespace {

spdlog::level::level_enum to_spdlog(severity s) {
    switch (s) {
    case severity::debug:
        return spdlog::level::debug;
    case severity::info:
        return spdlog::level::info;
    case severity::warning:
        return spdlog::level::warn;
    case severity::error:
        return spdlog::level::err;
    }
    return spdlog::level::info;
}

int to_syslog_priority(severity s) {
    switch (s) {
    case severity::debug:
        return 7;
    case severity::info:
        return 6;
    case severity::warning:
        return 4;
    case severity::error:
        return 3;
    }
    return 6;
}

} // namespace

void log_event(const event& e) {
    const auto lvl = to_spdlog(e.level);
    if (!spdlog::should_log(lvl))
        return;
    const auto line = to_line(e);
    if (stderr_is_journal()) {
        const std::string node = e.position ? std::to_string(*e.position) : std::string();
        const std::string mac = e.mac ? e.mac->to_string() : std::string();
        const std::string ip = e.ip ? e.ip->to_string() : std::string();
        sd_journal_send("MESSAGE=%s", line.c_str(), "PRIORITY=%d", to_syslog_priority(e.level),
                        "EVENT=%s", e.kind.c_str(), "NODE=%s", node.c_str(), "MAC=%s", mac.c_str(),
                        "IP=%s", ip.c_str(), "SYSLOG_IDENTIFIER=netbootd", nullptr);
        return;
    }
    spdlog::log(lvl, "{}", line);
}

} // namespace netbootd
