#include "netbootd/nfs/mbr.hpp"

#include <cstring>

#include <fmt/format.h>

namespace netbootd::nfs {

namespace {
std::uint32_t le32(const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
} // namespace

tl::expected<std::vector<mbr_partition>, std::string>
decode_mbr(std::span<const std::uint8_t> sector, std::uint64_t image_size) {
    if (sector.size() < 512)
        return tl::make_unexpected("shorter than one 512-byte sector");
    if (sector[510] != 0x55 || sector[511] != 0xaa)
        return tl::make_unexpected("no MBR signature (0x55AA at byte 510)");
    std::vector<mbr_partition> out;
    for (int i = 0; i < 4; ++i) {
        const auto* e = sector.data() + 446 + 16 * i;
        mbr_partition p;
        p.index = i + 1;
        p.type = e[4];
        p.first_lba = le32(e + 8);
        p.sectors = le32(e + 12);
        if (p.type == 0 || p.sectors == 0)
            continue;
        if (p.type == 0xee)
            return tl::make_unexpected("GPT disk (protective MBR): not a Raspberry Pi OS image");
        if (p.first_lba == 0)
            return tl::make_unexpected(fmt::format("partition {} starts at sector 0", p.index));
        if (image_size != 0 && p.offset() + p.size() > image_size)
            return tl::make_unexpected(
                fmt::format("partition {} ends at byte {}, beyond the image ({} bytes)", p.index,
                            p.offset() + p.size(), image_size));
        out.push_back(p);
    }
    if (out.empty())
        return tl::make_unexpected("no partitions");
    return out;
}

} // namespace netbootd::nfs
