// Fuzz target: the TFTP codec and option negotiation. Any datagram must decode or be rejected;
// whatever decodes must re-encode to bytes that decode to the same packet, and negotiation of any
// option list must stay within the limits.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "netbootd/tftp/negotiate.hpp"
#include "netbootd/tftp/packet.hpp"
#include "netbootd/tftp/resolver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace netbootd::tftp;
    auto p = decode(std::span<const std::uint8_t>(data, size));
    if (!p)
        return 0;
    std::vector<std::uint8_t> out;
    encode_to(out, *p);
    auto again = decode(out);
    if (!again || !(*again == *p))
        std::abort();
    if (auto* r = std::get_if<request>(&*p)) {
        auto n = negotiate(r->options, size * 1000, negotiation_limits{1468, 16});
        if (n.blksize < 8 || n.blksize > 1468 || n.windowsize < 1 || n.windowsize > 16 ||
            n.oack.size() > r->options.size())
            std::abort();
        // A name that passes sanitising never climbs out of its root.
        if (auto clean = sanitize_path(r->filename)) {
            const std::string c = "/" + *clean + "/";
            if (c.find("/../") != std::string::npos || c.find("//") != std::string::npos ||
                clean->find('\\') != std::string::npos || clean->find('\0') != std::string::npos)
                std::abort();
        }
    }
    return 0;
}
