// netbootctl status / logs / diagnose: the boot diagnostics, read from the daemon's API.
#pragma once

#include <iosfwd>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace netbootd::cli {

/// Registers `status [RANGE] [--table|--json]`, `logs [--follow] [--node N] [--kind K]` and
/// `diagnose N` on `app`. Output goes to `out` (tests pass a stringstream). Each subcommand has
/// `--api URL` (default $NETBOOTD_API or http://127.0.0.1:8067). A failing call throws
/// CLI::RuntimeError with exit code 1; `diagnose` exits 2 when it found a problem.
void add_diag_commands(CLI::App& app, std::ostream& out);
void add_diag_commands(CLI::App& app);

// Renderers (pure, tested on their own).
/// The rack grid: positions in rows of `columns`, coloured by stage (red when a problem was
/// diagnosed), then a legend and a count per stage.
std::string render_grid(const nlohmann::json& nodes, bool color, int columns);
std::string render_table(const nlohmann::json& nodes);
/// "18:02:11.123 tftp.sent       node03 10.42.0.103 file=start4.elf bytes=2275616"
std::string format_event_line(const nlohmann::json& event, const nlohmann::json& names = {});
std::string render_diagnosis(const nlohmann::json& d);

} // namespace netbootd::cli
