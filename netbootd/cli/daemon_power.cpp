#include "netbootd/cli/daemon_power.hpp"

#include <cstdlib>
#include <fstream>
#include <map>
#include <sys/socket.h>

#include <fmt/format.h>

#include "netbootd/cli/common.hpp"
#include "netbootd/core/registry.hpp"

namespace netbootd::cli {

using power::power_action;
using power::power_result;

tl::expected<daemon_address, std::string> daemon_address_for(const cluster_config& cfg,
                                                             const std::string& api_override) {
    daemon_address a;
    std::optional<api_endpoint> ep;
    if (!api_override.empty()) {
        ep = parse_api_url(api_override);
        if (!ep)
            return tl::unexpected(fmt::format("cannot parse the API address '{}'", api_override));
    } else if (cfg.api.unix_socket) {
        ep = parse_api_url("unix:" + cfg.api.unix_socket->string());
    } else {
        ep = parse_api_url(cfg.api.listen);
        if (ep && (ep->host == "0.0.0.0" || ep->host.empty()))
            ep->host = "127.0.0.1";
        else if (ep && ep->host == "::")
            ep->host = "::1";
    }
    if (!ep)
        return tl::unexpected(fmt::format("cannot parse api.listen '{}'", cfg.api.listen));
    a.endpoint = *ep;
    if (cfg.api.token_file) {
        std::ifstream in(*cfg.api.token_file);
        std::string line;
        if (!in || !std::getline(in, line))
            return tl::unexpected(
                fmt::format("cannot read api.token_file {}", cfg.api.token_file->string()));
        const auto b = line.find_first_not_of(" \t\r\n");
        const auto e = line.find_last_not_of(" \t\r\n");
        if (b != std::string::npos)
            a.token = line.substr(b, e - b + 1);
    }
    return a;
}

std::shared_ptr<daemon_session> daemon_session::connect(const daemon_address& a, std::string& why) {
    try {
        api_client c(a.endpoint, a.token, std::chrono::seconds(5));
        auto r = c.get("/api/v1/events?limit=1");
        if (r.status != 200) {
            why = fmt::format("HTTP {}: {}", r.status, r.error_message());
            return nullptr;
        }
        auto j = r.json();
        std::uint64_t seq = 0;
        if (j.is_object() && j.contains("last_seq") && j["last_seq"].is_number_unsigned())
            seq = j["last_seq"].get<std::uint64_t>();
        return std::make_shared<daemon_session>(a, seq);
    } catch (const std::exception& e) {
        why = e.what();
        return nullptr;
    }
}

daemon_session::daemon_session(const daemon_address& a, std::uint64_t last_seq)
    : addr_(a), start_seq_(last_seq), tracker_(bus_) {}

daemon_session::~daemon_session() {
    stop_ = true;
    if (const int fd = fd_.load(); fd >= 0)
        ::shutdown(fd, SHUT_RDWR);
    if (thread_.joinable())
        thread_.join();
}

power_result daemon_session::act(power_action a, int position) const {
    // Drivers bound their own time (a command's timeout, an HTTP timeout); allow for a cycle.
    api_client c(addr_.endpoint, addr_.token, std::chrono::seconds(180));
    try {
        auto r = c.post(fmt::format("/api/v1/slots/{}/power", position),
                        nlohmann::json{{"action", std::string(power::to_string(a))}}.dump());
        if (r.status != 200)
            return power_result::failure(fmt::format("netbootd: {}", r.error_message()));
        auto j = r.json();
        const auto result =
            j.is_object() ? j.value("result", nlohmann::json::object()) : nlohmann::json::object();
        const auto state = result.is_object() ? result.value("state", std::string()) : "";
        const auto detail = result.is_object() ? result.value("detail", std::string()) : "";
        return power_result::success(state == "on"    ? power::power_state::on
                                     : state == "off" ? power::power_state::off
                                                      : power::power_state::unknown,
                                     detail);
    } catch (const std::exception& e) {
        return power_result::failure(e.what());
    }
}

void daemon_session::on_event(const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("kind") || !j["kind"].is_string())
        return;
    const auto kind = j["kind"].get<std::string>();
    if (kind == "dhcp.unknown_client") {
        std::optional<mac_address> mac;
        if (j.contains("mac") && j["mac"].is_string())
            mac = mac_address::parse(j["mac"].get<std::string>());
        if (!mac)
            return;
        power::unknown_client c{*mac, std::nullopt};
        const auto& f = j.contains("fields") ? j["fields"] : nlohmann::json();
        if (f.is_object() && f.contains("serial") && f["serial"].is_string())
            c.serial = parse_serial(f["serial"].get<std::string>());
        std::lock_guard lock(mu_);
        if (unknown_.size() < 4096) // bound what a flood of strangers can queue
            unknown_.push_back(c);
        cv_.notify_all();
        return;
    }
    // Events of known nodes feed the wait points (the same rules as the daemon's tracker).
    if (!j.contains("position") || !j["position"].is_number_integer())
        return;
    event e;
    e.kind = kind;
    e.position = j["position"].get<int>();
    e.source = j.value("source", std::string());
    bus_.publish(std::move(e));
}

void daemon_session::follow() {
    if (thread_.joinable())
        return;
    thread_ = std::thread([this] {
        try {
            api_client c(addr_.endpoint, addr_.token, std::chrono::seconds(5));
            c.stream(
                fmt::format("/api/v1/events/stream?after={}", start_seq_),
                [this](const nlohmann::json& e) {
                    on_event(e);
                    return !stop_.load();
                },
                [this](int fd) {
                    fd_ = fd;
                    if (stop_)
                        ::shutdown(fd, SHUT_RDWR);
                });
        } catch (const std::exception& e) {
            if (!stop_)
                std::fprintf(stderr, "netbootctl: event stream of %s: %s\n", where().c_str(),
                             e.what());
        }
        std::lock_guard lock(mu_);
        ended_ = true;
        cv_.notify_all();
    });
}

std::optional<power::unknown_client> daemon_session::next_unknown(power::steady_time deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [this] { return !unknown_.empty() || ended_; });
    if (unknown_.empty())
        return std::nullopt;
    auto c = unknown_.front();
    unknown_.pop_front();
    return c;
}

void daemon_session::forget_unknown() {
    std::lock_guard lock(mu_);
    unknown_.clear();
}

power_result api_executor::perform(power_action a, const node& n) {
    if (forget_before_on_ && (a == power_action::on || a == power_action::cycle))
        s_->forget_unknown();
    return s_->act(a, n.position);
}

tl::expected<std::string, std::string> api_executor::describe(power_action a, const node& n) const {
    return fmt::format("POST {}/api/v1/slots/{}/power {{\"action\": \"{}\"}}", s_->where(),
                       n.position, power::to_string(a));
}

namespace {

std::string api_override() {
    const char* e = std::getenv("NETBOOTD_API");
    return e ? std::string(e) : std::string();
}

// One session per cluster file per run: enroll's executor and its unknown-board source share
// the daemon connection and its stream.
struct session_cache {
    std::map<std::string, std::shared_ptr<daemon_session>> by_config;
    std::shared_ptr<daemon_session> get(const std::string& config_path, bool quiet) {
        if (auto it = by_config.find(config_path); it != by_config.end())
            return it->second;
        std::shared_ptr<daemon_session> s;
        try {
            const auto cfg = load_config(config_path);
            auto addr = daemon_address_for(cfg, api_override());
            if (!addr) {
                if (!quiet)
                    std::fprintf(stderr, "netbootctl: %s\n", addr.error().c_str());
            } else {
                std::string why;
                s = daemon_session::connect(*addr, why);
                if (!s && !quiet)
                    std::fprintf(stderr, "netbootctl: no netbootd answered at %s (%s)\n",
                                 addr->endpoint.to_string().c_str(), why.c_str());
            }
        } catch (const std::exception&) {
            // The direct path loads the file again and prints its diagnostics.
        }
        by_config[config_path] = s;
        return s;
    }
};

std::optional<int> power_via_daemon(session_cache& cache, const power_command& cmd) {
    // A dry run shows what the drivers of the file would do; nothing to ask the daemon.
    if (cmd.options.dry_run)
        return std::nullopt;
    auto s = cache.get(cmd.config_path, false);
    if (!s) {
        std::fprintf(stderr, "netbootctl power: acting directly from %s\n",
                     cmd.config_path.c_str());
        return std::nullopt;
    }
    auto reg = load_registry_or_report(cmd.config_path);
    if (!reg)
        return 1;
    auto c = cmd;
    c.apply_sequence_defaults(reg->config());
    power::wait_predicate wait;
    if (c.options.wait_for != power::wait_point::none &&
        (c.action == power_action::on || c.action == power_action::cycle)) {
        s->follow();
        wait = s->wait_predicate();
    }
    std::fprintf(stdout, "through netbootd at %s\n", s->where().c_str());
    api_executor exec(s);
    return run_power_command(c, *reg, exec, stdout, stderr, power::sequence_clock::real(),
                             std::move(wait));
}

} // namespace

power_cli_hooks daemon_power_hooks() {
    auto cache = std::make_shared<session_cache>();
    power_cli_hooks h;
    h.via_daemon = [cache](const power_command& cmd) { return power_via_daemon(*cache, cmd); };
    h.unknown_clients = [cache](const std::string& config) -> power::unknown_client_source {
        auto s = cache->get(config, false);
        if (!s)
            return {};
        s->follow();
        return [s](power::steady_time deadline) { return s->next_unknown(deadline); };
    };
    h.daemon_executor =
        [cache](const std::string& config) -> std::unique_ptr<power::power_executor> {
        auto s = cache->get(config, true);
        if (!s)
            return nullptr;
        return std::make_unique<api_executor>(s, true);
    };
    return h;
}

} // namespace netbootd::cli
