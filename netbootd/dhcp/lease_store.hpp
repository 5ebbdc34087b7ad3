// The lease table: in memory for lookups, made durable by an append-only journal under
// state_dir (one fdatasync'd line per committed change) that is compacted by writing a fresh
// file, fsyncing it and renaming it over the old one. kill -9 at any point loses no lease whose
// commit returned: a torn last line fails its checksum and is cut off on the next start.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "netbootd/dhcp/lease.hpp"
#include "netbootd/dhcp/policy.hpp"

namespace netbootd::dhcp {

class lease_store final : public lease_view {
  public:
    /// Memory only (tests).
    lease_store() = default;
    /// Opens (creating if needed) `dir`/dhcp-leases.journal, replays it and compacts it.
    /// Throws std::runtime_error naming the file and the OS error.
    explicit lease_store(const std::filesystem::path& dir, clock::time_point now = clock::now());
    ~lease_store() override;
    lease_store(const lease_store&) = delete;
    lease_store& operator=(const lease_store&) = delete;

    const lease* by_mac(const mac_address& mac) const override;
    const lease* by_ip(ipv4_address ip) const override;
    std::optional<ipv4_address> find_free(const address_pool& pool,
                                          clock::time_point now) const override;

    /// Applies one change; bound/declined leases and releases of them are on disk when this
    /// returns (false if nothing changed). Throws std::runtime_error if the journal write fails.
    bool apply(const lease_change& c, clock::time_point now);

    /// Every lease held, ordered by address.
    std::vector<lease> all() const;
    /// Lines in the journal since the last compaction.
    std::size_t journal_records() const { return records_; }
    /// Rewrites the journal with the live leases only (expired ones are dropped).
    void compact(clock::time_point now);

    static constexpr const char* file_name = "dhcp-leases.journal";

  private:
    void remove(ipv4_address ip);
    void insert(const lease& l);
    void append(const std::string& line);
    void replay(const std::string& text, std::size_t& good_end);

    std::filesystem::path path_;
    int fd_ = -1;
    std::size_t records_ = 0;
    std::map<std::uint32_t, lease> by_ip_;
    std::unordered_map<mac_address, std::uint32_t> mac_index_;
};

/// One journal line for a lease ("B mac ip expiry state crc\n") or a release ("R mac ip crc\n");
/// exposed for tests.
std::string journal_line(const lease& l);
std::string journal_release_line(const lease& l);

} // namespace netbootd::dhcp
