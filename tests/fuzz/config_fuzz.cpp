// Any bytes given as a cluster file either load or raise config_error; nothing else escapes.
#include <cstdint>
#include <string>

#include "netbootd/core/config.hpp"
#include "netbootd/core/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        netbootd::registry r(netbootd::parse_config(text, "fuzz.yaml"));
        (void)r.select("all");
    } catch (const netbootd::config_error&) {
    }
    return 0;
}
