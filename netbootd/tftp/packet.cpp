#include "netbootd/tftp/packet.hpp"

#include <algorithm>

namespace netbootd::tftp {

std::string_view to_string(decode_error e) {
    switch (e) {
    case decode_error::too_short:
        return "too_short";
    case decode_error::unknown_opcode:
        return "unknown_opcode";
    case decode_error::unterminated_string:
        return "unterminated_string";
    case decode_error::empty_filename:
        return "empty_filename";
    case decode_error::filename_too_long:
        return "filename_too_long";
    case decode_error::bad_mode:
        return "bad_mode";
    case decode_error::odd_option:
        return "odd_option";
    case decode_error::too_many_options:
        return "too_many_options";
    case decode_error::option_too_long:
        return "option_too_long";
    case decode_error::empty_option_name:
        return "empty_option_name";
    case decode_error::duplicate_option:
        return "duplicate_option";
    case decode_error::trailing_bytes:
        return "trailing_bytes";
    case decode_error::message_too_long:
        return "message_too_long";
    }
    return "unknown";
}

std::string_view to_string(opcode op) {
    switch (op) {
    case opcode::rrq:
        return "RRQ";
    case opcode::wrq:
        return "WRQ";
    case opcode::data:
        return "DATA";
    case opcode::ack:
        return "ACK";
    case opcode::error:
        return "ERROR";
    case opcode::oack:
        return "OACK";
    }
    return "?";
}

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
        return lower(x) == lower(y);
    });
}

const option* find_option(const std::vector<option>& opts, std::string_view name) {
    for (const auto& o : opts)
        if (iequals(o.name, name))
            return &o;
    return nullptr;
}

namespace {

std::uint16_t get16(std::span<const std::uint8_t> b, std::size_t at) {
    return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

/// Reads a NUL-terminated string starting at `pos`, advancing `pos` past the NUL.
tl::expected<std::string, decode_error> get_string(std::span<const std::uint8_t> b,
                                                   std::size_t& pos, std::size_t limit,
                                                   decode_error too_long) {
    auto begin = b.begin() + static_cast<std::ptrdiff_t>(pos);
    auto nul = std::find(begin, b.end(), std::uint8_t{0});
    if (nul == b.end())
        return tl::unexpected(decode_error::unterminated_string);
    auto len = static_cast<std::size_t>(nul - begin);
    if (len > limit)
        return tl::unexpected(too_long);
    std::string s(reinterpret_cast<const char*>(b.data() + pos), len);
    pos += len + 1;
    return s;
}

tl::expected<std::vector<option>, decode_error> get_options(std::span<const std::uint8_t> b,
                                                            std::size_t pos) {
    std::vector<option> opts;
    while (pos < b.size()) {
        if (opts.size() >= max_option_count)
            return tl::unexpected(decode_error::too_many_options);
        auto name = get_string(b, pos, max_option_text, decode_error::option_too_long);
        if (!name)
            return tl::unexpected(name.error());
        if (name->empty())
            return tl::unexpected(decode_error::empty_option_name);
        if (pos >= b.size())
            return tl::unexpected(decode_error::odd_option);
        auto value = get_string(b, pos, max_option_text, decode_error::option_too_long);
        if (!value)
            return tl::unexpected(value.error() == decode_error::unterminated_string
                                      ? decode_error::odd_option
                                      : value.error());
        if (find_option(opts, *name))
            return tl::unexpected(decode_error::duplicate_option);
        opts.push_back(option{std::move(*name), std::move(*value)});
    }
    return opts;
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void put_string(std::vector<std::uint8_t>& out, std::string_view s) {
    out.insert(out.end(), s.begin(), s.end());
    out.push_back(0);
}

} // namespace

tl::expected<packet, decode_error> decode(std::span<const std::uint8_t> b) {
    if (b.size() < 4)
        return tl::unexpected(decode_error::too_short);
    const auto op = get16(b, 0);
    switch (static_cast<opcode>(op)) {
    case opcode::rrq:
    case opcode::wrq: {
        request r;
        r.write = op == static_cast<std::uint16_t>(opcode::wrq);
        std::size_t pos = 2;
        auto name = get_string(b, pos, max_filename_length, decode_error::filename_too_long);
        if (!name)
            return tl::unexpected(name.error());
        if (name->empty())
            return tl::unexpected(decode_error::empty_filename);
        auto mode = get_string(b, pos, 16, decode_error::bad_mode);
        if (!mode)
            return tl::unexpected(mode.error());
        if (!iequals(*mode, "octet") && !iequals(*mode, "netascii") && !iequals(*mode, "mail"))
            return tl::unexpected(decode_error::bad_mode);
        auto opts = get_options(b, pos);
        if (!opts)
            return tl::unexpected(opts.error());
        r.filename = std::move(*name);
        r.mode = std::move(*mode);
        r.options = std::move(*opts);
        return r;
    }
    case opcode::data:
        return data_packet{get16(b, 2), b.subspan(4)};
    case opcode::ack:
        if (b.size() != 4)
            return tl::unexpected(decode_error::trailing_bytes);
        return ack_packet{get16(b, 2)};
    case opcode::error: {
        error_packet e;
        e.code = get16(b, 2);
        std::size_t pos = 4;
        if (pos == b.size())
            return e; // Some clients omit the message entirely; accept it as empty.
        auto msg = get_string(b, pos, max_error_message, decode_error::message_too_long);
        if (!msg)
            return tl::unexpected(msg.error());
        e.message = std::move(*msg);
        // Trailing bytes after the message are tolerated: the error ends the transfer anyway.
        return e;
    }
    case opcode::oack: {
        auto opts = get_options(b, 2);
        if (!opts)
            return tl::unexpected(opts.error());
        return oack_packet{std::move(*opts)};
    }
    }
    return tl::unexpected(decode_error::unknown_opcode);
}

void encode_to(std::vector<std::uint8_t>& out, const packet& p) {
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, request>) {
                put16(out, static_cast<std::uint16_t>(v.write ? opcode::wrq : opcode::rrq));
                put_string(out, v.filename);
                put_string(out, v.mode);
                for (const auto& o : v.options) {
                    put_string(out, o.name);
                    put_string(out, o.value);
                }
            } else if constexpr (std::is_same_v<T, data_packet>) {
                put16(out, static_cast<std::uint16_t>(opcode::data));
                put16(out, v.block);
                out.insert(out.end(), v.payload.begin(), v.payload.end());
            } else if constexpr (std::is_same_v<T, ack_packet>) {
                put16(out, static_cast<std::uint16_t>(opcode::ack));
                put16(out, v.block);
            } else if constexpr (std::is_same_v<T, error_packet>) {
                put16(out, static_cast<std::uint16_t>(opcode::error));
                put16(out, v.code);
                put_string(out, v.message);
            } else {
                put16(out, static_cast<std::uint16_t>(opcode::oack));
                for (const auto& o : v.options) {
                    put_string(out, o.name);
                    put_string(out, o.value);
                }
            }
        },
        p);
}

} // namespace netbootd::tftp
