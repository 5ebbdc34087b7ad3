// `type: gpio`: relay boards on GPIO lines, through the kernel's GPIO character device
// (libgpiod 1.6). The node's channel is the line offset on `chip`.
//   chip: gpiochip0   active_low: true   cycle_delay: 2s
// The driver keeps each line it drove requested for its own lifetime: releasing a line lets the
// kernel return it to an undefined state, which on a relay board can switch the node.
#pragma once

#include <memory>
#include <mutex>

#include "netbootd/power/driver.hpp"
#include "netbootd/power/settings_reader.hpp"

namespace netbootd::power {

/// Access to GPIO lines; the real one uses libgpiod, tests use an in-memory one.
class gpio_backend {
  public:
    virtual ~gpio_backend() = default;
    /// Drives the line (logical value: true = relay on, active_low applied by the backend).
    virtual tl::expected<void, std::string> set(const gpio_step& s) = 0;
    /// The logical value the line is driven to, or an error when it is not held by us.
    virtual tl::expected<bool, std::string> get(const gpio_step& s) = 0;
};

/// The libgpiod 1.6 backend. Holds requested lines until destroyed.
std::unique_ptr<gpio_backend> make_libgpiod_backend(std::string consumer = "netbootd");

struct gpio_driver_settings {
    std::string chip = "gpiochip0";
    bool active_low = false;
    std::chrono::milliseconds cycle_delay{2000};
};

class gpio_driver : public driver {
  public:
    gpio_driver(std::string name, gpio_driver_settings s, std::unique_ptr<gpio_backend> backend);
    static std::unique_ptr<gpio_driver> from_config(settings_reader& r);

    std::string_view type() const override { return "gpio"; }
    tl::expected<action_plan, std::string>
    describe_action(power_action a, const node& n, const std::string& channel) const override;
    void set_backend(std::unique_ptr<gpio_backend> b) { backend_ = std::move(b); }

  protected:
    step_outcome run_step(const plan_step& s) override;

  private:
    gpio_driver_settings s_;
    std::unique_ptr<gpio_backend> backend_;
};

} // namespace netbootd::power
