// The DHCP option table (RFC 2132 and the PXE/Pi-relevant extensions): one row per option we
// understand, used for decoding into names, for printing and for building replies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netbootd::dhcp {

/// Option codes netbootd reads or writes.
namespace opt {
inline constexpr std::uint8_t pad = 0;
inline constexpr std::uint8_t subnet_mask = 1;
inline constexpr std::uint8_t router = 3;
inline constexpr std::uint8_t dns = 6;
inline constexpr std::uint8_t hostname = 12;
inline constexpr std::uint8_t domain_name = 15;
inline constexpr std::uint8_t root_path = 17;
inline constexpr std::uint8_t broadcast = 28;
inline constexpr std::uint8_t ntp = 42;
inline constexpr std::uint8_t vendor_specific = 43;
inline constexpr std::uint8_t requested_ip = 50;
inline constexpr std::uint8_t lease_time = 51;
inline constexpr std::uint8_t overload = 52;
inline constexpr std::uint8_t message_type = 53;
inline constexpr std::uint8_t server_id = 54;
inline constexpr std::uint8_t parameter_list = 55;
inline constexpr std::uint8_t message = 56;
inline constexpr std::uint8_t max_message_size = 57;
inline constexpr std::uint8_t renewal_time = 58;
inline constexpr std::uint8_t rebinding_time = 59;
inline constexpr std::uint8_t vendor_class = 60;
inline constexpr std::uint8_t client_id = 61;
inline constexpr std::uint8_t tftp_server = 66;
inline constexpr std::uint8_t bootfile = 67;
inline constexpr std::uint8_t user_class = 77;
inline constexpr std::uint8_t client_arch = 93;
inline constexpr std::uint8_t client_ndi = 94;
inline constexpr std::uint8_t client_guid = 97;
inline constexpr std::uint8_t ipxe_encap = 175;
inline constexpr std::uint8_t end = 255;
} // namespace opt

/// How an option's value is laid out on the wire.
enum class option_type { ip, u8, u16, u32, text, bytes, flag };

struct option_def {
    std::string_view name;
    std::uint8_t code;
    option_type type;
    /// true when the value is a list of `type` items (e.g. routers, DNS servers).
    bool array;
};

/// The row for `code`, or nullptr for options we do not know by name.
const option_def* find_option(std::uint8_t code);
/// The row named `name` ("router", "vendor-class"), or nullptr.
const option_def* find_option(std::string_view name);
/// Every known option, sorted by code.
const std::vector<option_def>& option_table();

/// A value as text for logs and events: "10.42.0.1, 10.42.0.2", "PXEClient", or hex bytes.
std::string format_option(std::uint8_t code, const std::vector<std::uint8_t>& data);

} // namespace netbootd::dhcp
