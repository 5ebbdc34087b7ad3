#include "netbootd/core/node.hpp"

#include <fmt/format.h>

namespace netbootd {

std::string_view to_string(root_mode m) {
    switch (m) {
    case root_mode::shared:
        return "shared";
    case root_mode::overlay:
        return "overlay";
    case root_mode::clone:
        return "clone";
    }
    return "shared";
}

std::optional<root_mode> parse_root_mode(std::string_view text) {
    if (text == "shared")
        return root_mode::shared;
    if (text == "overlay")
        return root_mode::overlay;
    if (text == "clone")
        return root_mode::clone;
    return std::nullopt;
}

std::string_view to_string(node_model m) {
    switch (m) {
    case node_model::detect:
        return "detect";
    case node_model::pi3b:
        return "pi3b";
    case node_model::pi3bplus:
        return "pi3b+";
    case node_model::pi4:
        return "pi4";
    case node_model::pi5:
        return "pi5";
    case node_model::other:
        return "other";
    }
    return "detect";
}

std::optional<node_model> parse_node_model(std::string_view text) {
    for (auto m : {node_model::detect, node_model::pi3b, node_model::pi3bplus, node_model::pi4,
                   node_model::pi5, node_model::other})
        if (text == to_string(m))
            return m;
    if (text == "pi3bplus")
        return node_model::pi3bplus;
    return std::nullopt;
}

std::string node::describe() const {
    return fmt::format("{} (position {}, {})", hostname, position, mac.to_string());
}

} // namespace netbootd
