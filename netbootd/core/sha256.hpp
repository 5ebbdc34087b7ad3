// Streaming SHA-256 (FIPS 180-4): the emulator checks fetched files with it, root import writes its
// manifest with it, without keeping whole files in memory.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace netbootd {

class sha256 {
  public:
    sha256();
    void update(std::span<const std::uint8_t> data);
    void update(const void* data, std::size_t len) {
        update(std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(data), len));
    }
    /// Lower-case hex digest; the object must not be updated afterwards.
    std::string hex_digest();

  private:
    void block(const std::uint8_t* p);
    std::array<std::uint32_t, 8> h_{};
    std::array<std::uint8_t, 64> buf_{};
    std::size_t buf_len_ = 0;
    std::uint64_t total_ = 0;
};

} // namespace netbootd
