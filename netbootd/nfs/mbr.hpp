// The MBR partition table of a Raspberry Pi OS image: a FAT boot partition and a Linux root.
// A codec: bytes in, partitions out; no I/O, never throws.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <tl/expected.hpp>

namespace netbootd::nfs {

struct mbr_partition {
    int index = 0; ///< 1..4
    std::uint8_t type = 0;
    std::uint64_t first_lba = 0;
    std::uint64_t sectors = 0;
    std::uint64_t offset() const { return first_lba * 512; }
    std::uint64_t size() const { return sectors * 512; }
    bool is_fat() const { return type == 0x0b || type == 0x0c || type == 0x0e || type == 0x06; }
    bool is_linux() const { return type == 0x83; }
};

/// Decodes the four primary entries of the first sector (at least 512 bytes). Empty entries are
/// left out. Fails without the 0x55AA signature, on a protective GPT (type 0xEE) and on
/// partitions that end beyond `image_size` (when non-zero).
tl::expected<std::vector<mbr_partition>, std::string>
decode_mbr(std::span<const std::uint8_t> sector, std::uint64_t image_size = 0);

} // namespace netbootd::nfs
