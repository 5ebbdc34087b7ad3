#include "netbootd/daemon/app.hpp"

#include <csignal>
#include <malloc.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "netbootd/core/log.hpp"
#include "netbootd/core/sd_notify.hpp"
#include "netbootd/daemon/services.hpp"
#include "netbootd/power/driver_factory.hpp"

namespace netbootd::daemon {

cluster_config load_validated_config(const std::filesystem::path& file) {
    auto cfg = load_config(file);
    if (auto diags = power::check_power_drivers(cfg); !diags.empty())
        throw config_error(std::move(diags));
    return cfg;
}

namespace {

registry_ptr load_registry(const std::filesystem::path& file) {
    auto reg = std::make_shared<const netbootd::registry>(load_validated_config(file));
    // Parsing a large cluster file leaves tens of MB of freed heap that glibc keeps (10,000 nodes:
    // 59 MB resident, 14 MB after a trim; bench/api.sh); give it back after every (re)load.
    ::malloc_trim(0);
    return reg;
}

void ensure_state_dir(const cluster_config& cfg) {
    std::error_code ec;
    std::filesystem::create_directories(cfg.cluster.state_dir, ec);
    if (ec)
        throw std::runtime_error(fmt::format("cannot create state_dir {}: {}",
                                             cfg.cluster.state_dir.string(), ec.message()));
}

event daemon_event(std::string kind, severity level, nlohmann::json fields) {
    event e;
    e.source = "daemon";
    e.kind = std::move(kind);
    e.level = level;
    e.fields = std::move(fields);
    return e;
}

} // namespace

app::app(std::filesystem::path config_file)
    : config_file_(std::move(config_file)),
      registry_(load_registry(config_file_)), ctx_{io_, registry_, events_},
      signals_(io_, SIGTERM, SIGINT, SIGHUP), watchdog_(io_) {
    ensure_state_dir(registry_.get()->config());
    log_sub_ = events_.subscribe([](const event& e) { log_event(e); });
}

app::~app() = default;

int app::run() {
    const auto reg = registry_.get();
    services_ = make_services(ctx_);
    for (auto& s : services_) {
        try {
            s->start();
        } catch (const std::exception& e) {
            const auto msg = fmt::format("cannot start {}: {}", s->name(), e.what());
            spdlog::critical("{}", msg);
            sd::status(msg);
            for (auto& started : services_)
                if (started.get() != s.get())
                    started->stop();
            return 1;
        }
    }
    wait_for_signal();
    arm_watchdog();
    const auto summary = reg->config().summary();
    events_.publish(daemon_event("daemon.started", severity::info,
                                 {{"config", config_file_.string()}, {"summary", summary}}));
    sd::ready(summary);
    spdlog::info("netbootd {} serving {}", NETBOOTD_VERSION, summary);
    io_.run();
    return 0;
}

bool app::reload() {
    sd::reloading();
    try {
        auto next = load_registry(config_file_);
        ensure_state_dir(next->config());
        registry_.replace(next);
        for (auto& s : services_)
            s->reloaded(next);
        const auto summary = next->config().summary();
        events_.publish(daemon_event("daemon.reloaded", severity::info, {{"summary", summary}}));
        sd::ready(summary);
        return true;
    } catch (const config_error& e) {
        for (const auto& d : e.diagnostics())
            spdlog::error("{}", d.to_string());
        events_.publish(daemon_event(
            "daemon.reload_failed", severity::error,
            {{"errors", e.diagnostics().size()},
             {"first", e.diagnostics().empty() ? std::string() : e.diagnostics()[0].to_string()}}));
    } catch (const std::exception& e) {
        spdlog::error("reload failed: {}", e.what());
        events_.publish(
            daemon_event("daemon.reload_failed", severity::error, {{"first", e.what()}}));
    }
    const auto reg = registry_.get();
    sd::ready(fmt::format("reload failed, still serving the previous config: {}",
                          reg->config().summary()));
    return false;
}

void app::wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
        if (ec)
            return;
        if (sig == SIGHUP) {
            spdlog::info("SIGHUP: reloading {}", config_file_.string());
            reload();
            wait_for_signal();
            return;
        }
        spdlog::info("signal {}: stopping", sig);
        shutdown();
    });
}

void app::arm_watchdog() {
    const auto interval = sd::watchdog_interval();
    if (!interval || stopping_)
        return;
    sd::watchdog();
    watchdog_.expires_after(*interval);
    watchdog_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec)
            arm_watchdog();
    });
}

void app::shutdown() {
    if (stopping_)
        return;
    stopping_ = true;
    sd::stopping();
    events_.publish(daemon_event("daemon.stopping", severity::info, nlohmann::json::object()));
    for (auto& s : services_)
        s->stop();
    signals_.cancel();
    watchdog_.cancel();
    // Services end their own transfers and sessions; anything still queued stops with the loop.
    io_.stop();
}

} // namespace netbootd::daemon
