// The daemon's power service: owns the drivers built from the config, learns from the event
// stream when nodes reach dhcp/tftp/up, and runs the reference cluster's start-up sequence
// (everything off, then on in position order) on its own thread when
// `power.sequence.on_start` is set. Driver calls block, so they never run on the io_context.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "netbootd/core/service.hpp"
#include "netbootd/power/driver_factory.hpp"
#include "netbootd/power/sequencer.hpp"
#include "netbootd/power/sim_driver.hpp"

namespace netbootd::power {

class power_service : public service {
  public:
    explicit power_service(service_context& ctx);
    ~power_service() override;

    std::string_view name() const override { return "power"; }
    /// Builds the drivers (throws std::runtime_error listing driver config errors) and starts
    /// the start-up sequence if configured.
    void start() override;
    /// Cancels a running sequence and waits for its current driver call to end.
    void stop() override;
    /// Rebuilds the drivers from the new snapshot; a sequence in progress keeps the old ones.
    void reloaded(const registry_ptr& next) override;

    /// Runs an action over `nodes` (position order) with events and the daemon's wait points.
    /// Blocking: call from a worker thread (the API's power endpoint).
    sequence_report run(std::span<const node* const> nodes, const sequence_options& opt,
                        const sequencer::progress& on_progress = {});

    /// The API's power endpoint: runs `action` ("on", "off", "cycle", "status") on the node at
    /// `position`, or on the empty slot there (powered from `defaults.power`, for enrollment),
    /// on the service's worker pool so a slow driver never stalls DHCP and TFTP. Its events
    /// are published on the io_context, and `done` is called there too, after them, with the
    /// result ({position, action, state, detail}) or the error.
    using action_done = std::function<void(tl::expected<nlohmann::json, std::string>)>;
    void perform_async(int position, std::string action, action_done done);

    /// Sets the hook of every `sim` driver, now and after reloads (the demo starts emulated Pis).
    void set_sim_hook(sim_driver::hook h);

  private:
    std::shared_ptr<driver_set> build(const cluster_config& cfg);
    /// Hands an event to the io_context (the bus's subscribers run on the io thread).
    sequencer::publisher publisher();
    tl::expected<nlohmann::json, std::string> perform_now(int position, const std::string& action);

    service_context& ctx_;
    wait_tracker tracker_;
    std::mutex mu_;
    std::shared_ptr<driver_set> drivers_;
    sim_driver::hook sim_hook_;
    std::vector<sequencer*> running_;
    std::thread start_thread_;
    bool stopping_ = false;
    /// Runs API-driven actions; created by start(), joined by stop().
    std::unique_ptr<boost::asio::thread_pool> pool_;
};

std::unique_ptr<service> make_service(service_context& ctx);

} // namespace netbootd::power
