#include "netbootd/emu/nfs_root.hpp"

#include <sstream>

namespace netbootd::emu {

std::string cmdline_value(const std::string& cmdline, const std::string& key) {
    std::istringstream words(cmdline);
    std::string word, value;
    const std::string want = key + "=";
    while (words >> word)
        if (word.rfind(want, 0) == 0)
            value = word.substr(want.size());
    return value;
}

std::optional<nfs_root_target> nfsroot_from_cmdline(const std::string& cmdline,
                                                    ipv4_address default_server) {
    const auto value = cmdline_value(cmdline, "nfsroot");
    if (value.empty())
        return std::nullopt;
    nfs_root_target t;
    const auto comma = value.find(',');
    std::string spec = value.substr(0, comma);
    if (comma != std::string::npos)
        t.options = value.substr(comma + 1);
    if (const auto colon = spec.find(':'); colon != std::string::npos) {
        t.server = spec.substr(0, colon);
        spec = spec.substr(colon + 1);
    }
    if (t.server.empty())
        t.server = default_server.to_string();
    if (spec.empty() || spec.front() != '/')
        return std::nullopt;
    t.path = spec;
    return t;
}

} // namespace netbootd::emu
