// Runs an external program from an argv vector: no shell, so nothing in a hostname or a channel
// can become a second command. Bounded in time (the child's process group is killed at the
// deadline) and in captured output.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace netbootd::power {

struct process_request {
    /// argv[0] is looked up in PATH when it contains no '/'.
    std::vector<std::string> argv;
    /// Added to (or overriding) the inherited environment; how secrets avoid the command line.
    std::vector<std::pair<std::string, std::string>> env;
    std::chrono::milliseconds timeout{30000};
    /// Bytes kept of stdout and of stderr each; the rest is read and dropped.
    std::size_t max_output = 64 * 1024;
};

struct process_outcome {
    /// False when the program could not be started (then `error` says why).
    bool started = false;
    bool timed_out = false;
    /// Exit status when it exited normally, else -1.
    int exit_code = -1;
    /// The signal that ended it, else 0.
    int signal = 0;
    std::string out;
    std::string err;
    std::string error;

    bool success() const { return started && !timed_out && signal == 0 && exit_code == 0; }
    /// "exit status 3: relay-ctl: no such board", "timed out after 5s", "cannot run ...".
    std::string describe_failure() const;
};

/// Blocking; call it from a worker thread, never from the io_context. Never throws for a
/// failure of the child; only std::bad_alloc escapes.
process_outcome run_process(const process_request& req);

} // namespace netbootd::power
