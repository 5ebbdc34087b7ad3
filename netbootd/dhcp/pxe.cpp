#include "netbootd/dhcp/pxe.hpp"

#include <algorithm>
#include <string>

namespace netbootd::dhcp {

std::vector<std::uint8_t> build_option43(std::string_view menu_text, bool pi3b_padding) {
    std::string text(menu_text.substr(0, 250));
    if (pi3b_padding)
        text += "   ";
    // Sub-option 9 holds type (2) + length (1) + text and itself must fit in 255 bytes.
    if (text.size() > 252)
        text.resize(252);
    std::vector<std::uint8_t> v = {
        0x06,
        0x01,
        0x03, // PXE_DISCOVERY_CONTROL: no multicast/broadcast
        0x0a,
        0x04,
        0x00,
        'P',
        'X',
        'E', // PXE_MENU_PROMPT: timeout 0, "PXE"
        0x09,
        static_cast<std::uint8_t>(text.size() + 3),
        0x00,
        0x00,
        static_cast<std::uint8_t>(text.size()), // PXE_BOOT_MENU: type 0
    };
    v.reserve(v.size() + text.size() + 1);
    for (char c : text) // (a range insert trips GCC 12's -Warray-bounds false positive)
        v.push_back(static_cast<std::uint8_t>(c));
    v.push_back(0xff);
    return v;
}

} // namespace netbootd::dhcp
