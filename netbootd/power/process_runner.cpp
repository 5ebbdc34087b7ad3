#include "netbootd/power/process_runner.hpp"

#include <cerrno>
#include <cstring>
#include <map>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "netbootd/core/duration.hpp"

extern char** environ;

namespace netbootd::power {

namespace {

std::string trimmed(std::string s) {
    while (!s.empty() &&
           (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
        s.pop_back();
    std::size_t start = 0;
    while (start < s.size() && (s[start] == ' ' || s[start] == '\n' || s[start] == '\t'))
        ++start;
    return s.substr(start);
}

// Closes a descriptor once, whatever path leaves the scope.
struct fd_guard {
    int fd = -1;
    ~fd_guard() { reset(); }
    void reset() {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }
};

std::vector<std::string>
merged_environment(const std::vector<std::pair<std::string, std::string>>& extra) {
    std::map<std::string, std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string_view kv(*e);
        const auto eq = kv.find('=');
        if (eq == std::string_view::npos)
            continue;
        env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
    }
    for (const auto& [k, v] : extra)
        env[k] = v;
    std::vector<std::string> out;
    out.reserve(env.size());
    for (const auto& [k, v] : env)
        out.push_back(k + "=" + v);
    return out;
}

} // namespace

std::string process_outcome::describe_failure() const {
    if (!started)
        return error;
    std::string what;
    if (timed_out)
        what = error.empty() ? "timed out" : error;
    else if (signal != 0)
        what = fmt::format("killed by signal {}", signal);
    else
        what = fmt::format("exit status {}", exit_code);
    auto e = trimmed(err);
    if (!e.empty())
        what += ": " + e;
    return what;
}

process_outcome run_process(const process_request& req) {
    process_outcome res;
    if (req.argv.empty() || req.argv.front().empty()) {
        res.error = "empty command";
        return res;
    }
    int out_pipe[2];
    int err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        res.error = fmt::format("pipe: {}", std::strerror(errno));
        return res;
    }
    fd_guard out_r{out_pipe[0]}, out_w{out_pipe[1]};
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        res.error = fmt::format("pipe: {}", std::strerror(errno));
        return res;
    }
    fd_guard err_r{err_pipe[0]}, err_w{err_pipe[1]};

    // posix_spawn rather than fork: safe from a multi-threaded daemon and cheap with vfork.
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_w.fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_w.fd, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Own process group so a timeout kills whatever the program started too.
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGHUP);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETSIGMASK);

    std::vector<char*> argv;
    argv.reserve(req.argv.size() + 1);
    for (const auto& a : req.argv)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    auto env_strings = merged_environment(req.env);
    std::vector<char*> envp;
    envp.reserve(env_strings.size() + 1);
    for (auto& e : env_strings)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    out_w.reset();
    err_w.reset();
    if (rc != 0) {
        res.error = fmt::format("cannot run '{}': {}", req.argv.front(), std::strerror(rc));
        return res;
    }
    res.started = true;

    const auto deadline = std::chrono::steady_clock::now() + req.timeout;
    pollfd fds[2] = {{out_r.fd, POLLIN, 0}, {err_r.fd, POLLIN, 0}};
    std::string* sinks[2] = {&res.out, &res.err};
    int open_count = 2;
    char buf[4096];
    while (open_count > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            res.timed_out = true;
            break;
        }
        const int n = ::poll(fds, 2, static_cast<int>(std::min<long long>(left.count(), 60'000)));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            const auto got = ::read(fds[i].fd, buf, sizeof buf);
            if (got > 0) {
                auto& sink = *sinks[i];
                const auto keep =
                    std::min<std::size_t>(static_cast<std::size_t>(got),
                                          req.max_output - std::min(req.max_output, sink.size()));
                sink.append(buf, keep);
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                fds[i].fd = -1;
                --open_count;
            }
        }
    }
    if (res.timed_out) {
        ::kill(-pid, SIGKILL);
        res.error = fmt::format("timed out after {}", format_duration(req.timeout));
    }
    // The pipes may close before the child exits (it closed them); wait within the deadline,
    // then kill.
    int status = 0;
    for (;;) {
        const pid_t w = ::waitpid(pid, &status, res.timed_out ? 0 : WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            break;
        if (w == 0) {
            if (std::chrono::steady_clock::now() >= deadline) {
                res.timed_out = true;
                res.error = fmt::format("timed out after {}", format_duration(req.timeout));
                ::kill(-pid, SIGKILL);
                continue;
            }
            ::usleep(2000);
        }
    }
    if (WIFEXITED(status))
        res.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        res.signal = WTERMSIG(status);
    if (res.timed_out)
        res.signal = 0; // reported as a timeout, not as our own SIGKILL
    return res;
}

} // namespace netbootd::power
