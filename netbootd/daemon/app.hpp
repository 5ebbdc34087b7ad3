// The daemon: loads the cluster file, runs the enabled services on one io_context, reloads on
// SIGHUP (all or nothing) and stops cleanly on SIGTERM/SIGINT.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "netbootd/core/event_bus.hpp"
#include "netbootd/core/registry.hpp"
#include "netbootd/core/service.hpp"

namespace netbootd::daemon {

/// load_config plus the checks that belong to modules (each power driver's own keys), so a
/// start, a reload and --check-config accept or refuse exactly the same files.
cluster_config load_validated_config(const std::filesystem::path& file);

class app {
  public:
    /// Loads and validates `config_file`; throws config_error if it is unusable.
    explicit app(std::filesystem::path config_file);
    ~app();

    /// Starts the services and runs until SIGTERM/SIGINT. Returns the process exit code.
    int run();

    /// Re-reads the config file; on success swaps the registry and returns true, on failure keeps
    /// the old snapshot, logs every error and returns false.
    bool reload();

    event_bus& events() { return events_; }
    registry_holder& registry() { return registry_; }
    boost::asio::io_context& io() { return io_; }

  private:
    void wait_for_signal();
    void arm_watchdog();
    void shutdown();

    std::filesystem::path config_file_;
    boost::asio::io_context io_;
    event_bus events_;
    registry_holder registry_;
    service_context ctx_;
    std::vector<std::unique_ptr<service>> services_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer watchdog_;
    event_bus::subscription log_sub_;
    bool stopping_ = false;
};

} // namespace netbootd::daemon
