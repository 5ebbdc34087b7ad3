// netbootctl power / enroll through a running netbootd: each action is a POST to the daemon's
// API (so the daemon's drivers act and its event log records every switch), and the wait points
// and unknown boards come from the daemon's event stream. Without a daemon the commands act
// directly from the cluster file (power) or refuse (enroll, --wait-for).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <tl/expected.hpp>

#include "netbootd/cli/api_client.hpp"
#include "netbootd/cli/power_cmd.hpp"
#include "netbootd/core/config.hpp"
#include "netbootd/core/event_bus.hpp"
#include "netbootd/power/enrollment.hpp"
#include "netbootd/power/sequencer.hpp"

namespace netbootd::cli {

/// Where the daemon of a cluster file listens and the token its power endpoint wants.
struct daemon_address {
    api_endpoint endpoint;
    std::string token;
};

/// `api_override` (from $NETBOOTD_API) if not empty, else the config's api.unix_socket, else
/// api.listen (a wildcard address becomes loopback); the token from api.token_file.
tl::expected<daemon_address, std::string> daemon_address_for(const cluster_config& cfg,
                                                             const std::string& api_override);

/// A daemon that answered, and (after follow()) its event stream read on a background thread.
class daemon_session {
  public:
    /// Nullptr (and `why`) when nothing answers at the address.
    static std::shared_ptr<daemon_session> connect(const daemon_address& a, std::string& why);
    daemon_session(const daemon_address& a, std::uint64_t last_seq);
    ~daemon_session();
    daemon_session(const daemon_session&) = delete;
    daemon_session& operator=(const daemon_session&) = delete;

    std::string where() const { return addr_.endpoint.to_string(); }
    /// POSTs one action for a rack position; blocking, bounded by the daemon's drivers.
    power::power_result act(power::power_action a, int position) const;

    /// Starts reading every event after the one that was last when connect() probed, so nothing
    /// published after that is missed.
    void follow();
    /// When each position reached dhcp, tftp or up (seen on the stream), for the sequencer.
    power::wait_predicate wait_predicate() const { return tracker_.predicate(); }
    /// The next `dhcp.unknown_client` seen since the last forget_unknown(), or nullopt at the
    /// deadline (or when the stream ended).
    std::optional<power::unknown_client> next_unknown(power::steady_time deadline);
    /// Drops the unknown boards seen so far (called right before a slot is switched on: they
    /// asked before its board had power, so they are not its board).
    void forget_unknown();
    /// Feeds one stream event (the stream thread; tests).
    void on_event(const nlohmann::json& e);

  private:
    daemon_address addr_;
    std::uint64_t start_seq_;
    event_bus bus_;
    power::wait_tracker tracker_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<power::unknown_client> unknown_;
    bool ended_ = false;
    std::thread thread_;
    std::atomic<int> fd_{-1};
    std::atomic<bool> stop_{false};
};

/// The sequencer's executor through the daemon: POST /api/v1/slots/{position}/power.
class api_executor : public power::power_executor {
  public:
    /// `forget_before_on`: enrollment's executor drops earlier unknown boards before each "on".
    explicit api_executor(std::shared_ptr<daemon_session> s, bool forget_before_on = false)
        : s_(std::move(s)), forget_before_on_(forget_before_on) {}
    power::power_result perform(power::power_action a, const node& n) override;
    tl::expected<std::string, std::string> describe(power::power_action a,
                                                    const node& n) const override;

  private:
    std::shared_ptr<daemon_session> s_;
    bool forget_before_on_;
};

/// The hooks main() gives add_power_commands: act through the daemon of the command's cluster
/// file when it answers, else directly (power) or refuse (enroll).
power_cli_hooks daemon_power_hooks();

} // namespace netbootd::cli
