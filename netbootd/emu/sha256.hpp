// Streaming SHA-256 (FIPS 180-4), so fetched files can be compared without keeping them in memory.
#pragma once

#include "netbootd/emu/bytes.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace netbootd::emu {

class sha256 {
  public:
    sha256();
    void update(byte_view data);
    /// Lower-case hex digest; the object must not be updated afterwards.
    std::string hex_digest();

  private:
    void block(const std::uint8_t* p);
    std::array<std::uint32_t, 8> h_{};
    std::array<std::uint8_t, 64> buf_{};
    std::size_t buf_len_ = 0;
    std::uint64_t total_ = 0;
};

} // namespace netbootd::emu
