#include "netbootd/api/auth.hpp"

#include <fstream>
#include <stdexcept>

namespace netbootd::api {

std::string load_token(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in)
        throw std::runtime_error("api: cannot read token file " + file.string());
    std::string line;
    std::getline(in, line);
    const auto b = line.find_first_not_of(" \t\r\n");
    const auto e = line.find_last_not_of(" \t\r\n");
    if (b == std::string::npos)
        throw std::runtime_error("api: token file " + file.string() + " is empty");
    return line.substr(b, e - b + 1);
}

bool authenticator::bearer_ok(std::string_view authorization) const {
    if (!token_)
        return false;
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() < scheme.size())
        return false;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
            std::tolower(static_cast<unsigned char>(scheme[i])))
            return false;
    const auto given = authorization.substr(scheme.size());
    const auto& want = *token_;
    // Compare every byte whatever the first mismatch, so timing does not leak the token.
    unsigned diff = given.size() == want.size() ? 0u : 1u;
    for (std::size_t i = 0; i < want.size(); ++i) {
        const char g = i < given.size() ? given[i] : '\0';
        diff |= static_cast<unsigned>(static_cast<unsigned char>(g) ^
                                      static_cast<unsigned char>(want[i]));
    }
    return diff == 0;
}

} // namespace netbootd::api
