#include "netbootd/dhcp/classify.hpp"

#include <algorithm>

#include "netbootd/dhcp/options.hpp"

namespace netbootd::dhcp {

std::string_view to_string(client_class c) {
    switch (c) {
    case client_class::pi3b_rom:
        return "pi3b-rom";
    case client_class::pi3_bootcode:
        return "pi3-bootcode";
    case client_class::pi4:
        return "pi4";
    case client_class::pi5:
        return "pi5";
    case client_class::uefi:
        return "uefi";
    case client_class::kernel:
        return "kernel";
    case client_class::other_pxe:
        return "other-pxe";
    }
    return "unknown";
}

bool is_pi_oui(const mac_address& mac) {
    switch (mac.oui()) {
    case 0xb827eb:
    case 0xdca632:
    case 0xe45f01:
    case 0xd83add:
    case 0x2ccf67:
    case 0x28cdc1:
        return true;
    default:
        return false;
    }
}

namespace {

bool starts_with(const std::vector<std::uint8_t>& d, std::initializer_list<std::uint8_t> prefix) {
    return d.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), d.begin());
}

bool is_const44_guid(const std::vector<std::uint8_t>& d) {
    return d.size() == 17 && d[0] == 0 &&
           std::all_of(d.begin() + 1, d.end(), [](std::uint8_t b) { return b == 0x44; });
}

bool is_serial4_guid(const std::vector<std::uint8_t>& d) {
    if (d.size() != 17 || d[0] != 0)
        return false;
    for (std::size_t i = 5; i < 17; ++i)
        if (d[i] != d[1 + (i - 1) % 4])
            return false;
    return true;
}

enum class fourcc { none, rpi4, rpi5 };

fourcc guid_fourcc(const std::vector<std::uint8_t>& d) {
    if (starts_with(d, {0x00, 0x52, 0x50, 0x69, 0x34}) ||
        starts_with(d, {0x00, 0x34, 0x69, 0x50, 0x52}))
        return fourcc::rpi4;
    if (starts_with(d, {0x00, 0x35, 0x69, 0x50, 0x52}) ||
        starts_with(d, {0x00, 0x52, 0x50, 0x69, 0x35}))
        return fourcc::rpi5;
    return fourcc::none;
}

std::uint32_t le32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
           (std::uint32_t{p[3]} << 24);
}

} // namespace

std::optional<std::uint32_t> serial_from_guid(const packet& p) {
    const auto* o = p.find(opt::client_guid);
    if (!o || o->data.size() != 17 || o->data[0] != 0 || is_const44_guid(o->data))
        return std::nullopt;
    if (guid_fourcc(o->data) != fourcc::none)
        return le32(o->data.data() + 13);
    if (is_serial4_guid(o->data))
        return le32(o->data.data() + 1);
    return std::nullopt;
}

client_class classify(const packet& p, node_model model, bool known_node) {
    const auto vc = p.text_option(opt::vendor_class);
    const auto* arch = p.find(opt::client_arch);
    const bool ipxe =
        p.has(opt::ipxe_encap) || p.text_option(opt::user_class).find("iPXE") != std::string::npos;
    if (vc.rfind("PXEClient", 0) != 0 && !arch)
        return ipxe ? client_class::uefi : client_class::kernel;
    // R1: the Pi firmware stage pretends to be an x86 BIOS (arch 0, UNDI 2.1) with option 94.
    const bool arch0 = arch && arch->data.size() >= 2 && arch->data[0] == 0 && arch->data[1] == 0;
    const bool firmware =
        vc.rfind(pi_vendor_class, 0) == 0 && arch0 && p.has(opt::client_ndi) && !ipxe;
    if (!firmware) {
        // An x86 BIOS PXE ROM (arch 0) is not a boot stage of ours; any other arch is UEFI.
        const bool bios =
            (!arch || arch0) && (vc.empty() || vc.rfind("PXEClient:Arch:00000", 0) == 0);
        return bios && !ipxe ? client_class::other_pxe : client_class::uefi;
    }

    const auto* guid = p.find(opt::client_guid);
    static const std::vector<std::uint8_t> no_guid;
    const auto& g = guid ? guid->data : no_guid;
    switch (model) {
    case node_model::pi3b:
        return is_const44_guid(g) ? client_class::pi3b_rom : client_class::pi3_bootcode;
    case node_model::pi3bplus:
        return client_class::pi3_bootcode;
    case node_model::pi4:
        return client_class::pi4;
    case node_model::pi5:
        return client_class::pi5;
    case node_model::other:
        return client_class::other_pxe;
    case node_model::detect:
        break;
    }
    switch (guid_fourcc(g)) {
    case fourcc::rpi4:
        return client_class::pi4;
    case fourcc::rpi5:
        return client_class::pi5;
    case fourcc::none:
        break;
    }
    const auto oui = p.mac().oui();
    if (oui == 0xb827eb)
        return is_const44_guid(g) ? client_class::pi3b_rom : client_class::pi3_bootcode;
    if (oui == 0x2ccf67)
        return client_class::pi5;
    if (is_pi_oui(p.mac()))
        return client_class::pi4;
    // A node the operator listed by MAC is a Pi even with an OUI we have not seen yet; its
    // firmware generation is unknown, and the Pi 4 handling (REQUEST/ACK, plain menu) is the
    // one that also works for later generations.
    return known_node ? client_class::pi4 : client_class::other_pxe;
}

} // namespace netbootd::dhcp
