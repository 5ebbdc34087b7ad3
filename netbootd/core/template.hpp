// Per-node text templates: "node{position:02}", "10.42.0.{position}", cmdline.txt, fstab.
// Pure: no I/O. Used by the config defaults, the TFTP renderer and the NFS root renderer.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>

#include <tl/expected.hpp>

namespace netbootd {

using template_value = std::variant<std::string, std::int64_t>;

/// Variables available to a template, by name.
using template_vars = std::map<std::string, template_value, std::less<>>;

/// Why a template could not be rendered; `offset` is the byte offset in the template text.
struct template_error {
    std::size_t offset = 0;
    std::string message;
};

/// Renders `text`, replacing `{name}` with the variable's value and `{name:0N}` / `{name:N}` with
/// an integer variable zero- / space-padded to N digits. `{{` and `}}` are literal braces. Fails on
/// an unknown variable, an unterminated `{`, or a width spec on a string variable.
tl::expected<std::string, template_error> render_template(std::string_view text,
                                                          const template_vars& vars);

} // namespace netbootd
