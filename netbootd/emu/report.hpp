// The emulator's result: stages reached, files, conformance checks; printed as JSON with --json.
#pragma once

#include "netbootd/emu/tftp_client.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace netbootd::emu {

/// One conformance assertion. A `required` check that fails makes the run fail; the others are
/// reported (quirk-level checks outside --strict, timing hints).
struct check {
    std::string name;
    bool ok = true;
    std::string detail;
    bool required = true;
};

/// Checks by name: the same check seen on several replies or files is merged (ok only if every
/// instance is ok; the detail of the first failure is kept).
class check_list {
  public:
    void add(const std::string& name, bool ok, std::string detail, bool required = true);
    const std::vector<check>& all() const { return checks_; }
    bool required_ok() const;
    const check* find(const std::string& name) const;

  private:
    std::vector<check> checks_;
};

struct boot_report {
    std::string model;
    std::string mac;
    std::string ip;
    std::string tftp_server;
    std::string prefix;
    std::vector<std::string> stages;
    std::vector<file_result> files;
    check_list checks;
    bool completed = false;   ///< the boot sequence reached its last stage
    std::string error;        ///< why it did not, or the first failed required check
    bool setup_error = false; ///< the emulator could not run (no interface, no privileges)

    bool ok() const { return completed && checks.required_ok(); }
    nlohmann::json to_json() const;
};

} // namespace netbootd::emu
