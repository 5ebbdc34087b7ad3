// A small cluster for the NFS unit tests: one node of each root mode, paths under `dir`.
#pragma once

#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "netbootd/core/config.hpp"

namespace netbootd::nfs::test {

inline cluster_config make_config(const std::filesystem::path& dir,
                                  const std::string& extra_nfs = "") {
    const auto text = fmt::format(R"(cluster:
  name: t
  interface: eth0
  server_ip: 10.42.0.250
  subnet: 10.42.0.0/24
  ntp: [10.42.0.251]
tftp:
  root: {0}/boot
nfs:
  backend: none
  base_root: {0}/roots/base
  roots_dir: {0}/roots
  templates_dir: {1}/rootfs-templates/root
{2}defaults:
  ip: "10.42.0.{{position}}"
  root: overlay
nodes:
  - {{ position: 1, mac: "b8:27:eb:fc:6a:59", serial: "27e247cc", root: shared }}
  - {{ position: 2, mac: "dc:a6:32:01:36:c2", serial: "6aee7243" }}
  - {{ position: 3, mac: "d8:3a:dd:12:34:56", root: clone }}
  - {{ position: 4, mac: "2c:cf:67:00:00:04", root: shared }}
)",
                                  dir.string(), NETBOOTD_SOURCE_DIR, extra_nfs);
    return parse_config(text, "nfs-test.yaml", dir);
}

} // namespace netbootd::nfs::test
