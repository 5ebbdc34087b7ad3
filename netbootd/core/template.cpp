#include "netbootd/core/template.hpp"

#include <charconv>
#include <fmt/format.h>

namespace netbootd {

tl::expected<std::string, template_error> render_template(std::string_view text,
                                                          const template_vars& vars) {
    std::string out;
    out.reserve(text.size() + 16);
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '}') {
            if (i + 1 < text.size() && text[i + 1] == '}') {
                out.push_back('}');
                ++i;
                continue;
            }
            return tl::unexpected(template_error{i, "unmatched '}'"});
        }
        if (c != '{') {
            out.push_back(c);
            continue;
        }
        if (i + 1 < text.size() && text[i + 1] == '{') {
            out.push_back('{');
            ++i;
            continue;
        }
        const auto close = text.find('}', i);
        if (close == std::string_view::npos)
            return tl::unexpected(template_error{i, "unterminated '{'"});
        const auto spec = text.substr(i + 1, close - i - 1);
        const auto colon = spec.find(':');
        const auto name = spec.substr(0, colon);
        auto it = vars.find(name);
        if (it == vars.end())
            return tl::unexpected(
                template_error{i, fmt::format("unknown variable '{{{}}}'", std::string(name))});
        if (colon == std::string_view::npos) {
            if (const auto* s = std::get_if<std::string>(&it->second))
                out += *s;
            else
                fmt::format_to(std::back_inserter(out), "{}", std::get<std::int64_t>(it->second));
        } else {
            const auto width_text = spec.substr(colon + 1);
            const bool zero = !width_text.empty() && width_text.front() == '0';
            unsigned width = 0;
            auto [end, ec] =
                std::from_chars(width_text.data(), width_text.data() + width_text.size(), width);
            if (width_text.empty() || ec != std::errc{} ||
                end != width_text.data() + width_text.size() || width > 32)
                return tl::unexpected(
                    template_error{i, fmt::format("bad width '{}' (expected e.g. {{position:02}})",
                                                  std::string(width_text))});
            const auto* n = std::get_if<std::int64_t>(&it->second);
            if (n == nullptr)
                return tl::unexpected(template_error{
                    i, fmt::format("'{{{}}}' is text; a width applies only to numbers",
                                   std::string(name))});
            if (zero)
                fmt::format_to(std::back_inserter(out), "{:0{}}", *n, width);
            else
                fmt::format_to(std::back_inserter(out), "{:{}}", *n, width);
        }
        i = close;
    }
    return out;
}

} // namespace netbootd
