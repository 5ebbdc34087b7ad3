// The sequencer's one way to act on a node. The local executor uses the drivers built from the
// config; an API-backed executor (CLI talking to a running daemon) can take its place.
#pragma once

#include <string>

#include <tl/expected.hpp>

#include "netbootd/core/node.hpp"
#include "netbootd/power/action.hpp"
#include "netbootd/power/driver_factory.hpp"

namespace netbootd::power {

class power_executor {
  public:
    virtual ~power_executor() = default;
    /// Runs the action on the node's bound driver and channel. Blocking; never throws.
    virtual power_result perform(power_action a, const node& n) = 0;
    /// What perform would do, one line per step (dry run), or why it cannot.
    virtual tl::expected<std::string, std::string> describe(power_action a,
                                                            const node& n) const = 0;
    /// "driver/channel" for messages and event fields; empty when the node has no binding.
    virtual std::string driver_of(const node& n) const;
};

/// Acts through the drivers in `drivers` (kept by reference; must outlive the executor).
class driver_executor : public power_executor {
  public:
    explicit driver_executor(const driver_set& drivers) : drivers_(drivers) {}
    power_result perform(power_action a, const node& n) override;
    tl::expected<std::string, std::string> describe(power_action a, const node& n) const override;

  private:
    tl::expected<driver*, std::string> resolve(const node& n) const;
    const driver_set& drivers_;
};

} // namespace netbootd::power
