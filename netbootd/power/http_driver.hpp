// `type: http`: smart plugs and gateways switched by one HTTP request per action.
// Presets fill in the requests for the common devices; every field can be overridden:
//   tasmota:   GET /cm?cmnd=Power%20On | Power%20Off | Power         (host defaults to {channel})
//   shelly:    GET /relay/0?turn=on | turn=off | /relay/0            (host defaults to {channel})
//   homematic: POST / XML-RPC setValue(channel, "STATE", true/false)  (port 2001, host required)
// Variables substituted into a path are percent-encoded, into an XML body XML-escaped, so a
// hostname cannot change the request's shape.
#pragma once

#include <memory>

#include "netbootd/power/driver.hpp"
#include "netbootd/power/settings_reader.hpp"

namespace netbootd::power {

enum class body_format { text, xml, json };

struct http_request_template {
    std::string method = "GET";
    /// Path and query, a template ("/relay/{channel_2}?turn=on").
    std::string path;
    std::string body;
    body_format format = body_format::text;
    std::string content_type;
};

struct http_driver_settings {
    std::string preset;
    /// A template; "{channel}" when each node has its own plug.
    std::string host;
    std::uint16_t port = 80;
    std::chrono::milliseconds timeout{5000};
    std::chrono::milliseconds cycle_delay{2000};
    std::string user;
    std::string password;
    http_request_template on;
    http_request_template off;
    std::optional<http_request_template> status;
    std::optional<http_request_template> cycle;
    std::string status_on;
    std::string status_off;
    /// A substring that marks an answer as a failure even with HTTP 200 (an XML-RPC <fault>).
    std::string error_on;
};

/// The preset's settings ("tasmota", "shelly", "homematic"), nullopt for an unknown name.
std::optional<http_driver_settings> http_preset(std::string_view name);

class http_driver : public driver {
  public:
    http_driver(std::string name, http_driver_settings s);
    static std::unique_ptr<http_driver> from_config(settings_reader& r, const YAML::Node& settings);

    std::string_view type() const override { return "http"; }
    tl::expected<action_plan, std::string>
    describe_action(power_action a, const node& n, const std::string& channel) const override;
    const http_driver_settings& settings() const { return s_; }

  protected:
    step_outcome run_step(const plan_step& s) override;
    power_state interpret_status(const std::string& output) const override;

  private:
    tl::expected<http_step, std::string> render(const http_request_template& t,
                                                const template_vars& vars) const;
    http_driver_settings s_;
};

/// Percent-encodes everything but RFC 3986 unreserved characters.
std::string url_encode(std::string_view s);
std::string xml_escape(std::string_view s);

} // namespace netbootd::power
