// The PXE vendor options (option 43) the Pi firmware looks for, byte-compatible with dnsmasq's
// `pxe-service=0,"Raspberry Pi Boot"` (spec R4/R5).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace netbootd::dhcp {

/// Option 43's value: sub-option 6 (discovery control 3), 10 (prompt, timeout 0, "PXE"),
/// 9 (one menu item, type 0, `menu_text`), END. With `pi3b_padding` three spaces are appended to
/// the menu text for the Pi 3B ROM's string-length bug (Q1). Menu text is cut at 250 bytes.
std::vector<std::uint8_t> build_option43(std::string_view menu_text, bool pi3b_padding);

} // namespace netbootd::dhcp
