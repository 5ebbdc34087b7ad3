#include "netbootd/emu/tftp_packet.hpp"

#include <cctype>
#include <fmt/format.h>

namespace netbootd::emu {

bytes build_rrq(std::string_view file, const tftp_options& options) {
    bytes out;
    put_u16(out, static_cast<std::uint16_t>(tftp_opcode::rrq));
    put_text(out, file);
    put_u8(out, 0);
    put_text(out, "octet");
    put_u8(out, 0);
    for (const auto& [name, value] : options) {
        put_text(out, name);
        put_u8(out, 0);
        put_text(out, value);
        put_u8(out, 0);
    }
    return out;
}

bytes build_ack(std::uint16_t block) {
    bytes out;
    put_u16(out, static_cast<std::uint16_t>(tftp_opcode::ack));
    put_u16(out, block);
    return out;
}

bytes build_error(std::uint16_t code, std::string_view message) {
    bytes out;
    put_u16(out, static_cast<std::uint16_t>(tftp_opcode::error));
    put_u16(out, code);
    put_text(out, message);
    put_u8(out, 0);
    return out;
}

const bytes& early_terminate() {
    static const bytes b = build_error(0, "Early terminate");
    return b;
}

namespace {

// Reads NUL-terminated strings from `in` starting at `at`; a missing final NUL is an error.
tl::expected<std::vector<std::string>, std::string> strings(byte_view in, std::size_t at) {
    std::vector<std::string> out;
    std::string cur;
    for (; at < in.size(); ++at) {
        if (in[at] == 0) {
            out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur.push_back(static_cast<char>(in[at]));
        }
    }
    if (!cur.empty())
        return tl::unexpected(std::string("string without NUL"));
    return out;
}

} // namespace

tl::expected<tftp_packet, std::string> parse_tftp(byte_view in) {
    if (in.size() < 4)
        return tl::unexpected(fmt::format("short TFTP packet ({} bytes)", in.size()));
    tftp_packet p;
    const std::uint16_t op = get_u16(in, 0);
    switch (op) {
    case 3:
        p.opcode = tftp_opcode::data;
        p.block = get_u16(in, 2);
        p.data = in.subspan(4);
        return p;
    case 5: {
        p.opcode = tftp_opcode::error;
        p.error_code = get_u16(in, 2);
        std::size_t end = 4;
        while (end < in.size() && in[end] != 0)
            ++end;
        p.error_message.assign(in.begin() + 4, in.begin() + static_cast<std::ptrdiff_t>(end));
        return p;
    }
    case 6: {
        p.opcode = tftp_opcode::oack;
        auto s = strings(in, 2);
        if (!s)
            return tl::unexpected(s.error());
        if (s->size() % 2 != 0)
            return tl::unexpected(std::string("OACK option without a value"));
        for (std::size_t i = 0; i < s->size(); i += 2) {
            std::string name = (*s)[i];
            for (auto& c : name)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            p.options.emplace_back(std::move(name), (*s)[i + 1]);
        }
        return p;
    }
    default:
        return tl::unexpected(fmt::format("unexpected TFTP opcode {}", op));
    }
}

} // namespace netbootd::emu
