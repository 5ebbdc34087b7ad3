// `type: sim`: a simulated switch for tests and the demo. It keeps each channel's state in
// memory; a hook (set by the demo) starts or stops an emulated Pi when its slot is switched.
//   fail: ["3"]        channels whose every action fails (to rehearse a dead relay)
//   initial: off       state of channels never switched
//   cycle_delay: 0s
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "netbootd/power/driver.hpp"
#include "netbootd/power/settings_reader.hpp"

namespace netbootd::power {

struct sim_driver_settings {
    std::set<std::string> fail;
    bool initial_on = false;
    std::chrono::milliseconds cycle_delay{0};
};

class sim_driver : public driver {
  public:
    using hook = std::function<void(const node&, bool on)>;

    sim_driver(std::string name, sim_driver_settings s);
    static std::unique_ptr<sim_driver> from_config(settings_reader& r);

    std::string_view type() const override { return "sim"; }
    tl::expected<action_plan, std::string>
    describe_action(power_action a, const node& n, const std::string& channel) const override;
    power_result perform(power_action a, const node& n, const std::string& channel) override;

    /// Called after a channel is switched, outside the driver's lock.
    void set_hook(hook h);
    /// The channel's current state (tests).
    bool is_on(const std::string& channel) const;
    /// Every switch so far, in order: "3=on" (tests check ordering with it).
    std::vector<std::string> history() const;

  private:
    sim_driver_settings s_;
    mutable std::mutex mu_;
    std::map<std::string, bool> state_;
    std::vector<std::string> history_;
    hook hook_;
};

} // namespace netbootd::power
