#include "netbootd/cli/power_cmd.hpp"

#include <fmt/format.h>

#include "netbootd/cli/common.hpp"
#include "netbootd/core/duration.hpp"
#include "netbootd/core/range.hpp"
#include "netbootd/power/driver_factory.hpp"

namespace netbootd::cli {

using power::outcome_kind;
using power::power_action;

std::string format_outcome(power_action a, const power::node_outcome& o) {
    std::string head =
        fmt::format("{:>4}  {:<12}  {:<6}  ", o.position, o.hostname, power::to_string(a));
    switch (o.kind) {
    case outcome_kind::ok:
        if (a == power_action::status)
            return head + std::string(power::to_string(o.result.state));
        if (o.waited.count() > 0)
            return head + fmt::format("ok (up after {})", format_duration(o.waited));
        return head + "ok";
    case outcome_kind::planned: {
        std::string text = head + "would run:";
        std::size_t start = 0;
        while (start <= o.plan.size()) {
            const auto nl = o.plan.find('\n', start);
            text += "\n        " + o.plan.substr(start, nl - start);
            if (nl == std::string::npos)
                break;
            start = nl + 1;
        }
        return text;
    }
    case outcome_kind::failed:
        return head + "FAILED  " + o.result.error;
    case outcome_kind::timed_out:
        return head + "TIMEOUT " + o.result.error;
    case outcome_kind::cancelled:
        return head + "cancelled";
    }
    return head;
}

int run_power_command(const power_command& cmd, const registry& reg, power::power_executor& exec,
                      std::FILE* out, std::FILE* err, power::sequence_clock clock,
                      power::wait_predicate wait, event_bus* events) {
    auto sel = reg.select(cmd.range);
    if (!sel) {
        std::fprintf(err, "netbootctl power: %s\n", sel.error().c_str());
        return 2;
    }
    if (sel->empty()) {
        std::fprintf(err, "netbootctl power: '%s' selects no nodes\n", cmd.range.c_str());
        return 2;
    }
    const bool switching = cmd.action != power_action::status;
    if (switching && cmd.range == "all" && !cmd.all && !cmd.options.dry_run) {
        std::fprintf(err,
                     "netbootctl power: '%s all' switches all %zu nodes; add --all to confirm "
                     "(or --dry-run to see what would happen)\n",
                     std::string(power::to_string(cmd.action)).c_str(), sel->size());
        return 2;
    }
    if (cmd.options.wait_for != power::wait_point::none && !wait && !cmd.options.dry_run &&
        (cmd.action == power_action::on || cmd.action == power_action::cycle)) {
        std::fprintf(err,
                     "netbootctl power: --wait-for %s needs a running netbootd (it watches the "
                     "daemon's events); none answered\n",
                     std::string(power::to_string(cmd.options.wait_for)).c_str());
        return 2;
    }
    if (switching && !cmd.options.dry_run && sel->size() > 1)
        std::fprintf(
            out, "%s %zu nodes in position order (stagger %s, max %d booting%s)\n",
            std::string(power::to_string(cmd.action)).c_str(), sel->size(),
            format_duration(cmd.options.stagger).c_str(), cmd.options.max_parallel,
            cmd.options.wait_for == power::wait_point::none
                ? ""
                : fmt::format(", wait for {}", power::to_string(cmd.options.wait_for)).c_str());
    std::fflush(out);
    auto options = cmd.options;
    options.action = cmd.action;
    power::sequencer seq(exec, events, std::move(clock), std::move(wait));
    const auto report = seq.run(*sel, options, [&](const power::node_outcome& o) {
        std::fprintf(out, "%s\n", format_outcome(cmd.action, o).c_str());
        std::fflush(out);
    });
    const int failed = report.count(outcome_kind::failed) + report.count(outcome_kind::timed_out) +
                       report.count(outcome_kind::cancelled);
    if (sel->size() > 1 || failed > 0)
        std::fprintf(out, "%d ok, %d failed, %d timed out\n",
                     report.count(outcome_kind::ok) + report.count(outcome_kind::planned),
                     report.count(outcome_kind::failed), report.count(outcome_kind::timed_out));
    return failed == 0 ? 0 : 1;
}

namespace {

std::chrono::milliseconds duration_or_throw(const std::string& text, const char* option) {
    auto v = parse_duration(text);
    if (!v)
        throw CLI::ValidationError(
            option, fmt::format("'{}' is not a duration (like 500ms, 2s, 2m)", text));
    return *v;
}

} // namespace

int run_enroll_command(const enroll_command& cmd, const registry& reg, power::power_executor& exec,
                       power::unknown_client_source source, std::FILE* out, std::FILE* err) {
    auto positions = parse_positions(cmd.range);
    if (!positions) {
        std::fprintf(err, "netbootctl enroll: %s\n", positions.error().c_str());
        return 2;
    }
    const auto file = cmd.file.empty() ? power::enrollment_path(reg.config().source)
                                       : std::filesystem::path(cmd.file);
    power::enroll_context ctx{
        reg, exec, std::move(source), std::chrono::steady_clock::now, file, nullptr, {}};
    ctx.progress = [&](const power::slot_outcome& o) {
        std::string line = fmt::format("{:>4}  {:<16}", o.position, power::to_string(o.result));
        if (o.node && o.result == power::slot_result::bound)
            line += fmt::format("  {}{}", o.node->mac.to_string(),
                                o.node->serial ? "  serial " + format_serial(*o.node->serial) : "");
        if (!o.message.empty())
            line += "  " + o.message;
        std::fprintf(out, "%s\n", line.c_str());
        std::fflush(out);
    };
    power::enroll_options opt;
    opt.timeout = cmd.timeout;
    opt.power_off_after = !cmd.leave_on;
    std::fprintf(out, "enrolling %zu positions into %s (one slot powered at a time)\n",
                 positions->size(), file.string().c_str());
    std::fflush(out);
    const auto outcomes = power::enroll(*positions, ctx, opt);
    int bound = 0, empty = 0, failed = 0;
    for (const auto& o : outcomes) {
        if (o.result == power::slot_result::bound)
            ++bound;
        else if (o.result == power::slot_result::nothing_appeared)
            ++empty;
        else if (o.result != power::slot_result::already_bound)
            ++failed;
    }
    std::fprintf(out, "%d bound, %d empty, %d failed; inventory: %s\n", bound, empty, failed,
                 file.string().c_str());
    if (bound > 0)
        std::fprintf(out, "reload netbootd (systemctl reload netbootd, or SIGHUP) to serve them\n");
    return failed == 0 && empty == 0 ? 0 : 1;
}

namespace {

void add_enroll_command(CLI::App& app, const power_cli_hooks& hooks) {
    auto* sub = app.add_subcommand(
        "enroll", "bind each slot's board by powering one slot at a time and catching its DHCP");
    struct state {
        enroll_command cmd;
        std::string timeout = "60s";
    };
    auto st = std::make_shared<state>();
    add_config_option(*sub, st->cmd.config_path);
    sub->add_option("RANGE", st->cmd.range, "positions to enroll, in order: 1-60,62")->required();
    sub->add_option("--timeout", st->timeout, "how long to wait for each slot's board")
        ->capture_default_str();
    sub->add_option("--file", st->cmd.file,
                    "inventory to write (default: enrolled-nodes.yaml next to the config)");
    sub->add_flag("--leave-on", st->cmd.leave_on, "leave each slot on after binding it");
    sub->callback([st, hooks] {
        st->cmd.timeout = duration_or_throw(st->timeout, "--timeout");
        power::unknown_client_source source;
        if (hooks.unknown_clients)
            source = hooks.unknown_clients(st->cmd.config_path);
        if (!source) {
            std::fprintf(stderr,
                         "netbootctl enroll: needs a running netbootd (it listens for the daemon's "
                         "dhcp.unknown_client events); none answered\n");
            throw exit_code{2};
        }
        auto reg = load_registry_or_report(st->cmd.config_path);
        if (!reg)
            throw exit_code{1};
        // Through the daemon when it answers (its drivers act and its log records each switch),
        // else with the cluster file's drivers.
        std::unique_ptr<power::power_executor> exec;
        if (hooks.daemon_executor)
            exec = hooks.daemon_executor(st->cmd.config_path);
        power::driver_set drivers;
        if (!exec) {
            drivers = drivers_or_exit(reg->config());
            exec = std::make_unique<power::driver_executor>(drivers);
        }
        const int code =
            run_enroll_command(st->cmd, *reg, *exec, std::move(source), stdout, stderr);
        if (code != 0)
            throw exit_code{code};
    });
}

} // namespace

power::driver_set drivers_or_exit(const cluster_config& cfg) {
    try {
        return power::make_drivers(cfg);
    } catch (const config_error& e) {
        for (const auto& d : e.diagnostics())
            std::fprintf(stderr, "%s\n", d.to_string().c_str());
        throw exit_code{1};
    }
}

void add_power_commands(CLI::App& app, power_cli_hooks hooks) {
    auto* group =
        app.add_subcommand("power", "switch nodes on, off or cycle them, in position order");
    group->require_subcommand(1);
    struct spec {
        const char* name;
        const char* help;
        power_action action;
    };
    for (auto s : {spec{"on", "power nodes on, staggered, in position order", power_action::on},
                   spec{"off", "power nodes off in position order", power_action::off},
                   spec{"cycle", "power-cycle nodes (off, pause, on)", power_action::cycle},
                   spec{"status", "read each node's power state", power_action::status}}) {
        auto* sub = group->add_subcommand(s.name, s.help);
        struct state {
            power_command cmd;
            std::string stagger, timeout = "120s", wait_for;
            int max_parallel = 0;
        };
        auto st = std::make_shared<state>();
        st->cmd.action = s.action;
        st->cmd.options.action = s.action;
        add_config_option(*sub, st->cmd.config_path);
        sub->add_option("RANGE", st->cmd.range,
                        "nodes: all, 1-60,62, node[01-04], 10.42.0.[1-4], a MAC or serial")
            ->required();
        if (s.action != power_action::status) {
            sub->add_option("--stagger", st->stagger,
                            "pause between two nodes' power-on (default: power.sequence.stagger)");
            sub->add_option(
                   "--max-parallel", st->max_parallel,
                   "nodes booting at once with --wait-for (default: power.sequence.max_parallel)")
                ->check(CLI::Range(1, 1000));
            sub->add_option(
                   "--wait-for", st->wait_for,
                   "free a node's slot once it reaches dhcp, tftp or up (needs the daemon)")
                ->check(CLI::IsMember({"dhcp", "tftp", "up"}));
            sub->add_option("--timeout", st->timeout, "give up waiting for a node after this long")
                ->capture_default_str();
            sub->add_flag("--all", st->cmd.all, "confirm switching every node (RANGE 'all')");
        }
        sub->add_flag("--dry-run", st->cmd.options.dry_run,
                      "print what each driver would run; switch nothing");
        sub->callback([st, hooks] {
            auto& cmd = st->cmd;
            if (!st->stagger.empty()) {
                cmd.options.stagger = duration_or_throw(st->stagger, "--stagger");
                cmd.stagger_set = true;
            }
            cmd.options.timeout = duration_or_throw(st->timeout, "--timeout");
            cmd.options.wait_for =
                power::parse_wait_point(st->wait_for).value_or(power::wait_point::none);
            if (st->max_parallel > 0) {
                cmd.options.max_parallel = st->max_parallel;
                cmd.max_parallel_set = true;
            }
            if (hooks.via_daemon) {
                if (auto code = hooks.via_daemon(cmd)) {
                    if (*code != 0)
                        throw exit_code{*code};
                    return;
                }
            }
            auto reg = load_registry_or_report(cmd.config_path);
            if (!reg)
                throw exit_code{1};
            cmd.apply_sequence_defaults(reg->config());
            auto drivers = drivers_or_exit(reg->config());
            power::driver_executor exec(drivers);
            const int code = run_power_command(cmd, *reg, exec, stdout, stderr);
            if (code != 0)
                throw exit_code{code};
        });
    }

    add_enroll_command(app, hooks);
}

} // namespace netbootd::cli
