#include "netbootd/emu/model.hpp"

#include <array>
#include <utility>

namespace netbootd::emu {
namespace {

constexpr std::array<std::pair<model, std::string_view>, 6> model_names{{
    {model::pi3b_rom, "pi3b-rom"},
    {model::pi3bplus_rom, "pi3bplus-rom"},
    {model::pi3_bootcode, "pi3-bootcode"},
    {model::pi4, "pi4"},
    {model::pi5, "pi5"},
    {model::kernel_dhcp, "kernel-dhcp"},
}};

constexpr std::array<std::pair<opt97_style, std::string_view>, 5> style_names{{
    {opt97_style::const44, "const44"},
    {opt97_style::serial4, "serial4"},
    {opt97_style::rpi4_le, "rpi4-le"},
    {opt97_style::rpi4_be, "rpi4-be"},
    {opt97_style::rpi5, "rpi5"},
}};

} // namespace

std::optional<model> parse_model(std::string_view text) {
    for (const auto& [m, name] : model_names)
        if (name == text)
            return m;
    return std::nullopt;
}

std::string_view to_string(model m) {
    for (const auto& [value, name] : model_names)
        if (value == m)
            return name;
    return "?";
}

std::optional<opt97_style> parse_opt97_style(std::string_view text) {
    for (const auto& [s, name] : style_names)
        if (name == text)
            return s;
    return std::nullopt;
}

std::string_view to_string(opt97_style s) {
    for (const auto& [value, name] : style_names)
        if (value == s)
            return name;
    return "?";
}

opt97_style default_opt97_style(model m) {
    switch (m) {
    case model::pi3b_rom:
        return opt97_style::const44;
    case model::pi3bplus_rom:
    case model::pi3_bootcode:
    case model::kernel_dhcp:
        return opt97_style::serial4;
    case model::pi4:
        // Bootloaders since about 2023 write the FourCC big-endian (spec §1.2, cmprovision
        // 4a719e0).
        return opt97_style::rpi4_be;
    case model::pi5:
        return opt97_style::rpi5;
    }
    return opt97_style::serial4;
}

bool is_pi3_family(model m) {
    return m == model::pi3b_rom || m == model::pi3bplus_rom || m == model::pi3_bootcode;
}

std::uint32_t default_boardrev(model m) {
    return m == model::pi5 ? 0xd04170u : 0xc03111u;
}

} // namespace netbootd::emu
