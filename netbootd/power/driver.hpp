// The one interface every power driver implements (command, http, gpio, snmp, ipmi, sim).
// A driver turns an action on one node's channel into a plan (describe_action, used for dry runs
// and golden tests) and runs it (perform). Drivers are blocking: the daemon calls them from a
// worker thread, the CLI calls them directly.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "netbootd/core/node.hpp"
#include "netbootd/core/template.hpp"
#include "netbootd/power/action.hpp"
#include "netbootd/power/plan.hpp"
#include "netbootd/power/process_runner.hpp"

namespace netbootd::power {

/// An HTTP response as the http driver sees it.
struct http_response {
    /// 0 when no response arrived (then `error` says why).
    int status = 0;
    std::string body;
    std::string error;
};

/// How plan steps touch the outside world. Tests replace members to observe or fake them;
/// the defaults run processes, send HTTP and sleep for real.
struct step_runners {
    std::function<process_outcome(const process_request&)> exec;
    std::function<http_response(const http_step&)> http;
    std::function<void(std::chrono::milliseconds)> sleep;
    static step_runners real();
};

/// What one step printed or answered, for status parsing and for `power_result::detail`.
struct step_outcome {
    bool ok = false;
    std::string output;
    std::string error;
};

class driver {
  public:
    explicit driver(std::string name) : runners_(step_runners::real()), name_(std::move(name)) {}
    virtual ~driver() = default;
    driver(const driver&) = delete;
    driver& operator=(const driver&) = delete;

    /// The name under `power.drivers`.
    const std::string& name() const { return name_; }
    /// "command", "http", ...
    virtual std::string_view type() const = 0;

    /// The exact steps `perform` would run for this node, or why it cannot (a channel this
    /// driver cannot address, a template naming an unknown variable).
    virtual tl::expected<action_plan, std::string>
    describe_action(power_action a, const node& n, const std::string& channel) const = 0;

    /// Runs the action. Blocking and bounded by the driver's timeouts; never throws.
    virtual power_result perform(power_action a, const node& n, const std::string& channel);

    power_result on(const node& n, const std::string& ch) {
        return perform(power_action::on, n, ch);
    }
    power_result off(const node& n, const std::string& ch) {
        return perform(power_action::off, n, ch);
    }
    power_result cycle(const node& n, const std::string& ch) {
        return perform(power_action::cycle, n, ch);
    }
    power_result status(const node& n, const std::string& ch) {
        return perform(power_action::status, n, ch);
    }

    void set_runners(step_runners r) { runners_ = std::move(r); }

  protected:
    /// Runs one step. The default handles exec, http and sleep steps; drivers with their own
    /// step kinds (gpio, sim) override and delegate the rest.
    virtual step_outcome run_step(const plan_step& s);
    /// Reads the state from the output of a status plan's last step.
    virtual power_state interpret_status(const std::string& output) const;

    step_runners runners_;

  private:
    std::string name_;
};

/// Variables a driver's templates may use: {channel}, {position}, {hostname}, {mac}, {ip},
/// {serial}, and {channel_1}, {channel_2} ... for the '/'-separated parts of the channel
/// ("10.42.0.201/0": a plug's address and its relay).
template_vars target_vars(const node& n, const std::string& channel);

/// Renders every template of an argv list with `vars`; each element stays one argument.
tl::expected<std::vector<std::string>, std::string>
render_argv(const std::vector<std::string>& tmpl, const template_vars& vars);

/// Reads "on"/"off" words from a status output: on, 1, true, yes / off, 0, false, no (any case,
/// first word). Unknown otherwise.
power_state parse_state_word(std::string_view text);

/// Matches `output` against optional on/off substrings (when either is set), else reads the
/// plain words.
power_state match_status(const std::string& output, const std::string& on_text,
                         const std::string& off_text);

} // namespace netbootd::power
