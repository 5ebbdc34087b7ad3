// Runs a helper program (exportfs, cp, sfdisk ...) without a shell: argv goes to execvp as is, so
// no path or hostname is ever interpreted by a shell.
#pragma once

#include <string>
#include <vector>

namespace netbootd::nfs {

struct process_result {
    /// Exit status, or 128+signal, or -1 if it could not be started.
    int status = -1;
    /// stdout and stderr together, capped at 64 KiB.
    std::string output;
    bool ok() const { return status == 0; }
};

/// Runs argv[0] (looked up in PATH) with stdin from /dev/null and waits for it.
process_result run_process(const std::vector<std::string>& argv);

} // namespace netbootd::nfs
