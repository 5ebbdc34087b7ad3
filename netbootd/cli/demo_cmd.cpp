#include "netbootd/cli/demo_cmd.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <map>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "netbootd/cli/api_client.hpp"
#include "netbootd/cli/common.hpp"
#include "netbootd/cli/demo_lab.hpp"
#include "netbootd/cli/demo_setup.hpp"
#include "netbootd/core/config.hpp"
#include "netbootd/core/duration.hpp"
#include "netbootd/core/registry.hpp"
#include "netbootd/nfs/roots.hpp"

extern char** environ;

namespace netbootd::cli::demo {

namespace {

std::atomic<bool> interrupted{false};

// The API client throws when the daemon cannot be reached; the demo polls, so it wants a value.
tl::expected<api_reply, std::string> get(const api_client& api, const std::string& target) {
    try {
        return api.get(target);
    } catch (const std::exception& e) {
        return tl::unexpected(std::string(e.what()));
    }
}

tl::expected<api_reply, std::string> post(const api_client& api, const std::string& target,
                                          const std::string& body) {
    try {
        return api.post(target, body);
    } catch (const std::exception& e) {
        return tl::unexpected(std::string(e.what()));
    }
}
extern "C" void on_signal(int) {
    interrupted = true;
}

std::filesystem::path self_dir() {
    std::error_code ec;
    auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path(".") : p.parent_path();
}

// Starts argv in the background with stdout and stderr appended to `log`; returns the pid or -1.
pid_t spawn_logged(const std::vector<std::string>& argv, const std::filesystem::path& log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                                     0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

// Non-blocking: the exit status if `pid` has ended, else nullopt.
std::optional<int> reap(pid_t pid) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) != pid)
        return std::nullopt;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string tail(const std::filesystem::path& file, std::size_t lines) {
    std::FILE* f = std::fopen(file.c_str(), "r");
    if (!f)
        return {};
    std::vector<std::string> all;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, f))
        all.emplace_back(buf);
    std::fclose(f);
    std::string out;
    for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
        out += "    " + all[i];
    return out;
}

std::string random_token() {
    unsigned char bytes[16] = {};
    if (std::FILE* f = std::fopen("/dev/urandom", "rb")) {
        if (std::fread(bytes, 1, sizeof bytes, f) != sizeof bytes)
            bytes[0] ^= 0x5a;
        std::fclose(f);
    }
    std::string out;
    for (auto b : bytes)
        out += fmt::format("{:02x}", b);
    return out;
}

// The full path of `name` on PATH or in the sbin directories root's PATH usually has ("" if none).
std::string find_program(const std::string& name) {
    std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
    path += ":/usr/local/sbin:/usr/sbin:/sbin";
    std::size_t from = 0;
    while (from <= path.size()) {
        const auto colon = std::min(path.find(':', from), path.size());
        const std::filesystem::path dir = path.substr(from, colon - from);
        from = colon + 1;
        std::error_code ec;
        if (!dir.empty() && std::filesystem::is_regular_file(dir / name, ec) &&
            ::access((dir / name).c_str(), X_OK) == 0)
            return (dir / name).string();
    }
    return {};
}

// Ganesha's rpcbind gets a private tmpfs /run (so it never meets the host's rpcbind), which hides
// anything under the host's /run from Ganesha.
bool under_run(const std::filesystem::path& dir) {
    const auto d = std::filesystem::absolute(dir).lexically_normal().string();
    return d == "/run" || d.rfind("/run/", 0) == 0;
}

// Unmounts everything mounted at or below `dir` (deepest first): node roots are overlays, and a
// crashed run may have left them. Returns how many it unmounted.
int unmount_below(const std::filesystem::path& dir) {
    std::vector<std::string> points;
    std::FILE* f = std::fopen("/proc/self/mountinfo", "r");
    if (!f)
        return 0;
    char line[8192];
    const auto prefix = dir.lexically_normal().string();
    while (std::fgets(line, sizeof line, f)) {
        char point[4096];
        if (std::sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
            continue;
        const std::string p = point;
        if (p == prefix || p.rfind(prefix + "/", 0) == 0)
            points.push_back(p);
    }
    std::fclose(f);
    std::sort(points.rbegin(), points.rend());
    int n = 0;
    for (const auto& p : points)
        if (::umount2(p.c_str(), 0) == 0 || ::umount2(p.c_str(), MNT_DETACH) == 0)
            ++n;
    return n;
}

// Makes every node's overlay root (with its rendered /etc/hostname) before NFS-Ganesha starts:
// Ganesha runs in a private mount namespace and sees only the mounts that exist when it starts.
std::string prepare_roots(const std::filesystem::path& config_file) {
    try {
        const registry reg(load_config(config_file));
        std::string failures;
        nfs::root_manager roots(reg.config(), nullptr);
        for (const auto& n : reg.nodes())
            if (auto r = roots.prepare(n); !r)
                failures +=
                    fmt::format("{}{}: {}", failures.empty() ? "" : "; ", n.hostname, r.error());
        return failures;
    } catch (const std::exception& e) {
        return e.what();
    }
}

// NFS-Ganesha and its rpcbind in the server's namespace, in a private mount namespace with its
// own /run so nothing touches the host's rpcbind. Returns an error or "".
std::string start_ganesha(const demo_plan& plan, const std::string& ganesha,
                          const std::string& rpcbind) {
    const auto g = plan.workdir / "ganesha";
    const auto script =
        fmt::format("mount -t tmpfs tmpfs /run && mkdir -p /run/rpcbind && {} -f & sleep 0.5; "
                    "exec {} -F -L '{}' -f '{}' -p '{}'",
                    rpcbind, ganesha, (g / "ganesha.log").string(), (g / "ganesha.conf").string(),
                    (g / "ganesha.pid").string());
    const pid_t pid = spawn_logged({"ip", "netns", "exec", server_ns(), "unshare", "--mount",
                                    "--propagation", "private", "bash", "-c", script},
                                   g / "ganesha-run.log");
    if (pid < 0)
        return "cannot start " + ganesha;
    for (int i = 0; i < 200 && !interrupted; ++i) {
        if (auto rc = reap(pid))
            return fmt::format("ganesha.nfsd exited ({}); see {}", *rc,
                               (g / "ganesha.log").string());
        auto up = run_in(server_ns(), {"ss", "-Hltn", "sport = :2049"});
        if (up && !up->empty())
            return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return "ganesha.nfsd did not listen on port 2049 within 20 s";
}

struct node_run {
    demo_node node;
    pid_t emu = -1;
    std::optional<int> emu_exit;
    bool up_sent = false;
    std::chrono::steady_clock::time_point emu_done;
    std::string stage = "off";
};

// The emulator command line for one node; every node runs the kernel's ip=dhcp stage too.
std::vector<std::string> emulator_argv(const std::filesystem::path& piemu, const demo_node& n,
                                       const demo_plan& plan) {
    return {"ip",
            "netns",
            "exec",
            node_ns(n.position),
            piemu.string(),
            "--iface",
            "eth0",
            "--model",
            n.emu_model,
            "--mac",
            n.mac.to_string(),
            "--serial",
            format_serial(n.serial),
            "--kernel-dhcp",
            "--timeout",
            "120s",
            "--json",
            "--save-dir",
            (plan.workdir / "fetched" / n.hostname).string()};
}

std::vector<std::string> emulator_argv_for(const std::filesystem::path& piemu, const demo_node& n,
                                           const demo_plan& plan) {
    auto argv = emulator_argv(piemu, n, plan);
    if (plan.nfs)
        argv.push_back("--nfs-root");
    return argv;
}

std::string stage_of(const nlohmann::json& node) {
    if (node.contains("state") && node["state"].contains("stage"))
        return node["state"]["stage"].get<std::string>();
    if (node.contains("stage"))
        return node["stage"].get<std::string>();
    return "?";
}

void print_table(const api_client& api) {
    auto r = get(api, "/api/v1/nodes");
    if (!r || r->status != 200) {
        std::printf("  (cannot read /api/v1/nodes: %s)\n",
                    r ? fmt::format("HTTP {}", r->status).c_str() : r.error().c_str());
        return;
    }
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_object() && j.contains("nodes"))
        j = j["nodes"];
    std::printf("  %-4s %-8s %-17s %-12s %-10s %s\n", "POS", "HOST", "MAC", "IP", "STAGE",
                "LAST EVENT");
    for (const auto& n : j) {
        const auto last = n.contains("state") && n["state"].contains("last_event")
                              ? n["state"]["last_event"].dump()
                          : n.contains("last_event") ? n["last_event"].dump()
                                                     : std::string();
        std::printf("  %-4d %-8s %-17s %-12s %-10s %s\n", n.value("position", 0),
                    n.value("hostname", "").c_str(), n.value("mac", "").c_str(),
                    n.value("ip", "").c_str(), stage_of(n).c_str(), last.c_str());
    }
}

} // namespace

int run(const options& o) {
    if (::geteuid() != 0) {
        std::fprintf(
            stderr,
            "netbootctl demo: needs root (it builds network namespaces); run it with sudo\n");
        return 2;
    }
    const auto bin = self_dir();
    const auto netbootd_bin = bin / "netbootd";
    const auto piemu_bin = bin / "netbootd-piemu";
    const std::filesystem::path workdir = o.workdir;
    if (o.down) {
        const int removed = cleanup();
        unmount_below(workdir);
        std::error_code ec;
        std::filesystem::remove_all(workdir, ec);
        std::printf("demo torn down: %d namespace%s removed, %s deleted\n", removed,
                    removed == 1 ? "" : "s", workdir.c_str());
        return 0;
    }
    for (const auto& b : {netbootd_bin, piemu_bin})
        if (!std::filesystem::exists(b)) {
            std::fprintf(
                stderr,
                "netbootctl demo: %s is missing: build the project first (cmake --build build)\n",
                b.c_str());
            return 2;
        }
    if (o.nodes < 1 || o.nodes > 200) {
        std::fprintf(stderr, "netbootctl demo: --nodes must be 1..200\n");
        return 2;
    }
    if (const int stale = cleanup(); stale > 0)
        std::printf("removed %d namespace%s left by an earlier demo\n", stale,
                    stale == 1 ? "" : "s");
    if (const int mounts = unmount_below(workdir); mounts > 0)
        std::printf("unmounted %d root%s left by an earlier demo\n", mounts,
                    mounts == 1 ? "" : "s");
    std::error_code ec;
    std::filesystem::remove_all(workdir, ec);

    const std::string ganesha_bin = o.no_nfs ? "" : find_program("ganesha.nfsd");
    const std::string rpcbind_bin = o.no_nfs ? "" : find_program("rpcbind");
    std::string no_nfs_reason =
        o.no_nfs              ? "--no-nfs was given"
        : ganesha_bin.empty() ? "ganesha.nfsd is not installed (apt-get install nfs-ganesha "
                                "nfs-ganesha-vfs rpcbind)"
        : rpcbind_bin.empty() ? "rpcbind is not installed"
        : under_run(workdir)  ? "the work directory is under /run, which NFS-Ganesha's "
                                "private /run (for its own rpcbind) hides; use another "
                                "--workdir"
                              : "";

    const int broken = o.broken >= 0 ? o.broken : (o.nodes >= 4 ? 4 : 0);
    auto plan = make_plan(o.nodes, broken, workdir);
    plan.api_token = random_token();
    plan.nfs = no_nfs_reason.empty();
    auto write = [&]() -> bool {
        auto files = make_files(plan);
        files.push_back({"cluster.yaml", render_config(plan)});
        if (auto err = write_tree(plan, files); !err.empty()) {
            std::fprintf(stderr, "netbootctl demo: %s\n", err.c_str());
            return false;
        }
        return true;
    };
    if (!write())
        return 1;
    if (plan.nfs) {
        if (auto err = prepare_roots(workdir / "cluster.yaml"); !err.empty()) {
            no_nfs_reason = "the nodes' overlay roots could not be made: " + err;
            unmount_below(workdir / "roots");
            plan.nfs = false;
            if (!write())
                return 1;
        }
    }
    std::vector<mac_address> macs;
    for (const auto& n : plan.nodes)
        macs.push_back(n.mac);
    auto rack = lab::create(plan.server_ip.to_string() + "/24", macs);
    if (!rack) {
        std::fprintf(stderr, "netbootctl demo: cannot build the virtual rack: %s\n",
                     rack.error().c_str());
        return 1;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    // Everything the demo made goes, on every way out of here: namespaces (with the daemon,
    // Ganesha and the emulators in them) first, then the overlay mounts, then the files.
    auto teardown = [&] {
        rack->destroy();
        unmount_below(workdir);
        std::error_code rm_ec;
        std::filesystem::remove_all(workdir, rm_ec);
    };
    std::printf("virtual rack: %d emulated Pis (namespaces %sp01..) on a bridge, server %s in %s\n",
                o.nodes, ns_prefix, plan.server_ip.to_string().c_str(), server_ns().c_str());
    if (plan.nfs) {
        if (auto err = start_ganesha(plan, ganesha_bin, rpcbind_bin); !err.empty()) {
            std::fprintf(stderr, "netbootctl demo: NFS-Ganesha: %s\n", err.c_str());
            teardown();
            return 1;
        }
        std::printf("NFS: each node's root is an overlay over one base, served by NFS-Ganesha "
                    "(NFSv3) at %s\n",
                    plan.server_ip.to_string().c_str());
    } else {
        std::printf("NFS: no NFS backend, so the nodes stop short of reading their root: %s\n",
                    no_nfs_reason.c_str());
    }

    const auto log = workdir / "netbootd.log";
    const pid_t daemon =
        spawn_logged({"ip", "netns", "exec", server_ns(), netbootd_bin.string(), "--config",
                      (workdir / "cluster.yaml").string(), "--log-level", "info"},
                     log);
    api_endpoint ep;
    ep.is_unix = true;
    ep.socket_path = plan.api_socket.string();
    const api_client api(ep, plan.api_token, std::chrono::seconds(5));
    bool ready = false;
    for (int i = 0; i < 100 && !ready && !interrupted; ++i) {
        if (reap(daemon))
            break;
        auto r = get(api, "/api/v1/nodes");
        ready = r && r->status == 200;
        if (!ready)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!ready) {
        std::fprintf(stderr, "netbootctl demo: netbootd did not come up; its log:\n%s",
                     tail(log, 20).c_str());
        teardown();
        return 1;
    }
    std::printf("netbootd is serving (log: %s)\n\n", log.c_str());

    // Power on in position order, with a stagger, as the reference cluster's server does.
    std::vector<node_run> runs;
    for (const auto& n : plan.nodes) {
        node_run r;
        r.node = n;
        runs.push_back(std::move(r));
    }
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::seconds(o.timeout_s);
    std::size_t next = 0;
    auto next_power = start;
    std::map<int, std::string> shown;
    while (!interrupted && std::chrono::steady_clock::now() < deadline) {
        const auto now = std::chrono::steady_clock::now();
        if (next < runs.size() && now >= next_power) {
            auto& r = runs[next++];
            (void)post(api, fmt::format("/api/v1/nodes/{}/power", r.node.position),
                       R"({"action":"on"})");
            r.emu = spawn_logged(emulator_argv_for(piemu_bin, r.node, plan),
                                 workdir / (r.node.hostname + ".log"));
            std::printf("power on  %s (position %d, %s, %s)\n", r.node.hostname.c_str(),
                        r.node.position, r.node.emu_model.c_str(), r.node.mac.to_string().c_str());
            next_power = now + std::chrono::milliseconds(o.stagger_ms);
        }
        bool all_done = next == runs.size();
        for (auto& r : runs) {
            if (r.emu > 0 && !r.emu_exit) {
                r.emu_exit = reap(r.emu);
                r.emu_done = std::chrono::steady_clock::now();
            }
            // The agent reports once the node's services are started, a moment after its root
            // is mounted (which keeps the nfs-root stage visible in the table).
            if (r.emu_exit && *r.emu_exit == 0 && !r.up_sent &&
                now - r.emu_done >= std::chrono::milliseconds(plan.nfs ? 800 : 0)) {
                // The node agent's call, from the node's own address (the API accepts /up only so).
                r.up_sent = true;
                auto up =
                    run_in(node_ns(r.node.position),
                           {"curl", "-fsS", "-m", "5", "-X", "POST", "-H",
                            "Content-Type: application/json", "-d",
                            fmt::format(R"({{"hostname":"{}","kernel":"demo"}})", r.node.hostname),
                            fmt::format("http://{}/api/v1/nodes/{}/up", plan.api_listen,
                                        r.node.position)});
                if (!up)
                    std::printf("  %s: agent up call failed: %s\n", r.node.hostname.c_str(),
                                up.error().c_str());
            }
            all_done = all_done && r.emu_exit.has_value() && (*r.emu_exit != 0 || r.up_sent);
        }
        if (auto nodes = get(api, "/api/v1/nodes"); nodes && nodes->status == 200) {
            auto j = nlohmann::json::parse(nodes->body, nullptr, false);
            if (j.is_object() && j.contains("nodes"))
                j = j["nodes"];
            for (const auto& n : j) {
                const int pos = n.value("position", 0);
                const auto st = stage_of(n);
                if (shown[pos].empty() && st == "off") {
                    shown[pos] = st;
                } else if (shown[pos] != st) {
                    const auto secs =
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                            .count();
                    std::printf("%6.1fs  %-6s %-9s -> %s\n", secs, n.value("hostname", "").c_str(),
                                shown[pos].empty() ? "off" : shown[pos].c_str(), st.c_str());
                    shown[pos] = st;
                }
            }
        }
        if (all_done)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    // Let the last events settle before reading the final state.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));

    std::printf("\nfinal state:\n");
    print_table(api);
    bool healthy_ok = true;
    for (const auto& r : runs) {
        if (r.node.broken)
            continue;
        const bool ok = shown[r.node.position] == "up";
        healthy_ok = healthy_ok && ok;
        if (!ok)
            std::printf("  %s did not reach 'up' (emulator exit %s); its log:\n%s",
                        r.node.hostname.c_str(),
                        r.emu_exit ? std::to_string(*r.emu_exit).c_str() : "none",
                        tail(workdir / (r.node.hostname + ".log"), 8).c_str());
    }
    bool broken_diagnosed = true;
    for (const auto& r : runs) {
        if (!r.node.broken)
            continue;
        auto d = get(api, fmt::format("/api/v1/nodes/{}/diagnosis", r.node.position));
        std::printf(
            "\n%s was made to fail on purpose (its config.txt names %s). netbootctl diagnose %d:\n",
            r.node.hostname.c_str(), plan.broken_kernel.c_str(), r.node.position);
        if (d && d->status == 200) {
            auto j = nlohmann::json::parse(d->body, nullptr, false);
            std::printf("  stage reached: %s\n  problem: %s\n  %s\n", j.value("stage", "?").c_str(),
                        j.value("problem", "?").c_str(), j.value("explanation", "").c_str());
            broken_diagnosed = j.value("problem", "") != "" && j.value("problem", "") != "none";
        } else {
            broken_diagnosed = false;
            std::printf("  (no diagnosis: %s)\n",
                        d ? fmt::format("HTTP {}", d->status).c_str() : d.error().c_str());
        }
        if (auto ev =
                get(api, fmt::format("/api/v1/events?node={}&kind=tftp.&limit=8", r.node.position));
            ev && ev->status == 200) {
            std::printf("  its last TFTP events:\n");
            auto j = nlohmann::json::parse(ev->body, nullptr, false);
            if (j.is_object() && j.contains("events"))
                j = j["events"];
            for (const auto& e : j)
                std::printf("    %s %s %s\n", e.value("kind", "").c_str(),
                            e.contains("fields") ? e["fields"].value("file", "").c_str() : "",
                            e.contains("fields") && e["fields"].value("expected", false)
                                ? "(expected probe)"
                                : "");
        }
    }
    std::printf(
        "\nwhere to look:\n"
        "  live status:  sudo netbootctl status --api unix:%s\n"
        "  event stream: sudo curl -N --unix-socket %s http://localhost/api/v1/events/stream\n"
        "  daemon log:   %s\n",
        plan.api_socket.c_str(), plan.api_socket.c_str(), log.c_str());
    const bool ok = healthy_ok && broken_diagnosed;
    if (o.once) {
        const std::string nfs_note = plan.nfs ? " after reading their own root over NFS"
                                              : " (no NFS stage: " + no_nfs_reason + ")";
        std::printf("\n%s: %zu healthy node%s reached 'up'%s%s\n", ok ? "demo OK" : "demo FAILED",
                    runs.size() - (broken ? 1 : 0), runs.size() - (broken ? 1 : 0) == 1 ? "" : "s",
                    nfs_note.c_str(), broken ? ", the broken node was diagnosed" : "");
        teardown();
        return ok ? 0 : 1;
    }
    if (o.keep) {
        rack->release();
        std::printf("\nleft running (--keep). Tear it down with: sudo netbootctl demo --down\n");
        return ok ? 0 : 1;
    }
    std::printf("\nrunning; press Ctrl-C to tear everything down\n");
    while (!interrupted && !reap(daemon))
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::printf("tearing down\n");
    teardown();
    return ok ? 0 : 1;
}

void add_demo_command(CLI::App& app) {
    auto* cmd = app.add_subcommand(
        "demo", "run a virtual cluster of emulated Pis in network namespaces (needs root)");
    auto o = std::make_shared<options>();
    cmd->add_option("--nodes", o->nodes, "number of emulated Pis (mixed Pi 3B, 4, 5)")
        ->capture_default_str();
    cmd->add_flag(
        "--once", o->once,
        "boot them through, print the result, tear down; exit 0 if all healthy nodes are up");
    cmd->add_flag("--keep", o->keep,
                  "leave the virtual cluster running after the boot (tear down with --down)");
    cmd->add_flag("--down", o->down, "tear down a demo left running by --keep or a crash");
    cmd->add_flag("--no-nfs", o->no_nfs,
                  "no NFS-Ganesha: the nodes boot to their kernel but do not read a root");
    cmd->add_option("--broken", o->broken,
                    "position made to fail on purpose (default 4; 0 = none)");
    cmd->add_option("--timeout", o->timeout_s, "seconds to wait for the boots")
        ->capture_default_str();
    cmd->add_option("--stagger", o->stagger_ms, "milliseconds between power-ons")
        ->capture_default_str();
    cmd->add_option("--workdir", o->workdir, "where the demo's files live")->capture_default_str();
    cmd->callback([o] {
        const int rc = run(*o);
        if (rc != 0)
            throw exit_code{rc};
    });
}

} // namespace netbootd::cli::demo
