#include "netbootd/power/gpio_driver.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <gpiod.h>

namespace netbootd::power {

namespace {

class libgpiod_backend : public gpio_backend {
  public:
    explicit libgpiod_backend(std::string consumer) : consumer_(std::move(consumer)) {}
    ~libgpiod_backend() override {
        for (auto& [key, line] : lines_)
            gpiod_line_release(line.handle);
        for (auto& [name, chip] : chips_)
            gpiod_chip_close(chip);
    }
    libgpiod_backend(const libgpiod_backend&) = delete;
    libgpiod_backend& operator=(const libgpiod_backend&) = delete;

    tl::expected<void, std::string> set(const gpio_step& s) override {
        std::lock_guard lock(mu_);
        const bool value = s.value.value_or(false);
        auto it = lines_.find({s.chip, s.line});
        if (it == lines_.end()) {
            auto chip = open_chip(s.chip);
            if (!chip)
                return tl::unexpected(chip.error());
            gpiod_line* line = gpiod_chip_get_line(*chip, s.line);
            if (line == nullptr)
                return tl::unexpected(
                    fmt::format("{} line {}: {}", s.chip, s.line, std::strerror(errno)));
            const int flags = s.active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
            // Requesting as output with the wanted value avoids a glitch through the other state.
            if (gpiod_line_request_output_flags(line, consumer_.c_str(), flags, value ? 1 : 0) != 0)
                return tl::unexpected(fmt::format("{} line {}: cannot request it: {}", s.chip,
                                                  s.line, std::strerror(errno)));
            lines_.emplace(std::pair{s.chip, s.line}, held{line, value});
            return {};
        }
        if (gpiod_line_set_value(it->second.handle, value ? 1 : 0) != 0)
            return tl::unexpected(
                fmt::format("{} line {}: {}", s.chip, s.line, std::strerror(errno)));
        it->second.value = value;
        return {};
    }

    tl::expected<bool, std::string> get(const gpio_step& s) override {
        std::lock_guard lock(mu_);
        auto it = lines_.find({s.chip, s.line});
        if (it == lines_.end())
            // Reading an unrequested line would mean requesting it as an input, which could
            // switch the relay: report that the state is not known instead.
            return tl::unexpected(fmt::format(
                "{} line {} is not driven by this process; state unknown", s.chip, s.line));
        const int v = gpiod_line_get_value(it->second.handle);
        if (v < 0)
            return tl::unexpected(
                fmt::format("{} line {}: {}", s.chip, s.line, std::strerror(errno)));
        return v == 1;
    }

  private:
    struct held {
        gpiod_line* handle;
        bool value;
    };

    tl::expected<gpiod_chip*, std::string> open_chip(const std::string& name) {
        auto it = chips_.find(name);
        if (it != chips_.end())
            return it->second;
        gpiod_chip* chip = gpiod_chip_open_lookup(name.c_str());
        if (chip == nullptr)
            return tl::unexpected(
                fmt::format("cannot open GPIO chip '{}': {}", name, std::strerror(errno)));
        chips_.emplace(name, chip);
        return chip;
    }

    std::string consumer_;
    std::mutex mu_;
    std::map<std::string, gpiod_chip*> chips_;
    std::map<std::pair<std::string, unsigned>, held> lines_;
};

} // namespace

std::unique_ptr<gpio_backend> make_libgpiod_backend(std::string consumer) {
    return std::make_unique<libgpiod_backend>(std::move(consumer));
}

gpio_driver::gpio_driver(std::string name, gpio_driver_settings s,
                         std::unique_ptr<gpio_backend> backend)
    : driver(std::move(name)), s_(std::move(s)), backend_(std::move(backend)) {}

std::unique_ptr<gpio_driver> gpio_driver::from_config(settings_reader& r) {
    r.allow({"chip", "active_low", "cycle_delay"});
    gpio_driver_settings s;
    if (auto v = r.string("chip"))
        s.chip = *v;
    if (auto v = r.boolean("active_low"))
        s.active_low = *v;
    if (auto v = r.duration("cycle_delay"))
        s.cycle_delay = *v;
    if (!r.ok())
        return nullptr;
    return std::make_unique<gpio_driver>(r.driver_name(), std::move(s), make_libgpiod_backend());
}

tl::expected<action_plan, std::string>
gpio_driver::describe_action(power_action a, const node& /*n*/, const std::string& channel) const {
    unsigned line = 0;
    auto [end, ec] = std::from_chars(channel.data(), channel.data() + channel.size(), line);
    if (channel.empty() || ec != std::errc{} || end != channel.data() + channel.size() ||
        line > 1023)
        return tl::unexpected(
            fmt::format("channel '{}' is not a GPIO line offset (0-1023)", channel));
    auto step = [&](std::optional<bool> v) { return gpio_step{s_.chip, line, s_.active_low, v}; };
    switch (a) {
    case power_action::on:
        return action_plan{step(true)};
    case power_action::off:
        return action_plan{step(false)};
    case power_action::status:
        return action_plan{step(std::nullopt)};
    case power_action::cycle:
        return action_plan{step(false), sleep_step{s_.cycle_delay}, step(true)};
    }
    return tl::unexpected(std::string("unknown action"));
}

step_outcome gpio_driver::run_step(const plan_step& s) {
    const auto* g = std::get_if<gpio_step>(&s);
    if (g == nullptr)
        return driver::run_step(s);
    step_outcome o;
    if (!backend_) {
        o.error = "no GPIO backend";
        return o;
    }
    if (g->value) {
        auto r = backend_->set(*g);
        o.ok = r.has_value();
        if (!r)
            o.error = r.error();
        else
            o.output = *g->value ? "on" : "off";
        return o;
    }
    auto r = backend_->get(*g);
    if (!r) {
        o.error = r.error();
        return o;
    }
    o.ok = true;
    o.output = *r ? "on" : "off";
    return o;
}

} // namespace netbootd::power
