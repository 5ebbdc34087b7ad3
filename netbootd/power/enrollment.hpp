// Enrollment by position: power one empty slot at a time, take the first unknown Pi that asks for
// DHCP as the board in that slot, and record its MAC and serial in a netbootd-managed nodes file
// next to the config. The file is rewritten atomically after every binding, so an interrupted
// enrollment resumes where it stopped and never leaves a half-written file.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <tl/expected.hpp>

#include "netbootd/core/registry.hpp"
#include "netbootd/power/executor.hpp"
#include "netbootd/power/sequencer.hpp"

namespace netbootd::power {

struct enrolled_node {
    int position = 0;
    mac_address mac;
    std::optional<std::uint32_t> serial;
    bool operator==(const enrolled_node&) const = default;
};

/// The bindings made so far; one MAC, one serial and one position each, kept in position order.
class inventory {
  public:
    inventory() = default;
    /// Refuses (with the reason) a position, MAC or serial that is already bound.
    tl::expected<void, std::string> bind(const enrolled_node& n);
    const enrolled_node* by_position(int position) const;
    const enrolled_node* by_mac(const mac_address& mac) const;
    const std::vector<enrolled_node>& nodes() const { return nodes_; }

  private:
    std::vector<enrolled_node> nodes_;
};

/// `enrolled-nodes.yaml` in the directory of `config`.
std::filesystem::path enrollment_path(const std::filesystem::path& config);

/// The file's text: a comment header and a `nodes:` list in the config's node syntax.
std::string format_enrollment(const inventory& inv);
/// Parses a file written by format_enrollment (or edited by hand in the same syntax).
/// Errors name the file and line.
tl::expected<inventory, std::string> parse_enrollment(const std::string& text,
                                                      const std::string& name);
/// A missing file is an empty inventory.
tl::expected<inventory, std::string> load_enrollment(const std::filesystem::path& file);
/// temp file + fsync + rename + fsync of the directory.
std::error_code save_enrollment(const std::filesystem::path& file, const inventory& inv);

/// A device the DHCP service did not know (the `dhcp.unknown_client` event: mac, serial).
struct unknown_client {
    mac_address mac;
    std::optional<std::uint32_t> serial;
};

/// Blocks until the next unknown client shows up or `deadline` passes (then nullopt).
using unknown_client_source = std::function<std::optional<unknown_client>(steady_time deadline)>;

struct enroll_options {
    /// How long to wait for a slot's board to ask for DHCP after its power-on.
    std::chrono::milliseconds timeout{60000};
    /// Switch each slot off again once bound (so the next slot's board is the only one asking).
    bool power_off_after = true;
};

enum class slot_result {
    bound,
    already_bound,
    nothing_appeared,
    power_failed,
    save_failed,
    no_power
};
std::string_view to_string(slot_result r);

struct slot_outcome {
    int position = 0;
    slot_result result = slot_result::nothing_appeared;
    std::optional<enrolled_node> node;
    std::string message;
};

/// Everything enrollment needs from outside, injected so tests drive it without hardware.
struct enroll_context {
    const registry& reg;
    power_executor& exec;
    unknown_client_source next_unknown;
    std::function<steady_time()> now = std::chrono::steady_clock::now;
    std::filesystem::path file;
    event_bus* events = nullptr;
    std::function<void(const slot_outcome&)> progress;
};

/// The node to power for an empty slot: the config's node at that position if there is one,
/// else one built from `defaults` (hostname and power channel rendered for the position).
/// Fails when the slot has no power binding.
tl::expected<node, std::string> slot_node(const registry& reg, int position);

/// Enrolls `positions` in order, resuming from `ctx.file`. Slots already bound (in the file or
/// in the config) are skipped; every other slot in the list is switched off first so only one
/// board at a time can ask. A client whose MAC or serial is already bound is not taken again.
std::vector<slot_outcome> enroll(const std::vector<int>& positions, enroll_context& ctx,
                                 const enroll_options& opt = {});

} // namespace netbootd::power
