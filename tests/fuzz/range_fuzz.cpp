// Range expressions and templates from untrusted text: expand or explain, never crash or blow up.
#include <cstdint>
#include <string>

#include "netbootd/core/range.hpp"
#include "netbootd/core/template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto names = netbootd::expand_pattern(text);
    if (names && names->size() > netbootd::max_range_expansion)
        __builtin_trap();
    (void)netbootd::parse_positions(text);
    netbootd::template_vars vars{{"position", std::int64_t{7}},
                                 {"hostname", std::string("node07")}};
    (void)netbootd::render_template(text, vars);
    return 0;
}
