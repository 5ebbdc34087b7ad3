#include "netbootd/nfs/backend.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "netbootd/core/atomic_file.hpp"
#include "netbootd/nfs/process.hpp"

namespace netbootd::nfs {

std::filesystem::path exports_file(const cluster_config& cfg) {
    if (!cfg.nfs.exports_file.empty())
        return cfg.nfs.exports_file;
    switch (cfg.nfs.backend) {
    case nfs_backend::kernel:
        return "/etc/exports.d/netbootd.exports";
    case nfs_backend::ganesha:
        return "/etc/ganesha/netbootd-exports.conf";
    case nfs_backend::none:
        break;
    }
    return {};
}

std::string render_for_backend(nfs_backend b, std::span<const export_entry> exports) {
    switch (b) {
    case nfs_backend::kernel:
        return render_kernel_exports(exports);
    case nfs_backend::ganesha:
        return render_ganesha_exports(exports);
    case nfs_backend::none:
        break;
    }
    return render_plan(exports);
}

namespace {

std::string_view backend_name(nfs_backend b) {
    return b == nfs_backend::kernel ? "kernel" : b == nfs_backend::ganesha ? "ganesha" : "none";
}

void emit(const event_sink& sink, std::string kind, severity level, nlohmann::json fields) {
    emit_nfs_event(sink, std::move(kind), level, std::move(fields));
}

tl::expected<std::string, std::string> reload_ganesha(const std::filesystem::path& pidfile) {
    std::ifstream in(pidfile);
    long pid = 0;
    if (!(in >> pid) || pid <= 1)
        return tl::make_unexpected(fmt::format(
            "cannot read Ganesha's PID from {} (is ganesha.nfsd running?)", pidfile.string()));
    // SIGHUP makes ganesha.nfsd re-read its configuration and add, update or remove exports.
    if (::kill(static_cast<pid_t>(pid), SIGHUP) != 0)
        return tl::make_unexpected(
            fmt::format("signal ganesha.nfsd ({}): {}", pid, std::strerror(errno)));
    return fmt::format("SIGHUP to ganesha.nfsd {}", pid);
}

} // namespace

tl::expected<apply_result, std::string> apply_exports(const cluster_config& cfg,
                                                      std::span<const export_entry> exports,
                                                      const event_sink& sink, bool force) {
    const auto b = cfg.nfs.backend;
    apply_result out;
    out.text = render_for_backend(b, exports);
    auto failed = [&](std::string reason) -> tl::expected<apply_result, std::string> {
        emit(sink, "nfs.exports_failed", severity::error,
             {{"backend", backend_name(b)}, {"reason", reason}});
        return tl::make_unexpected(std::move(reason));
    };
    if (b == nfs_backend::none) {
        out.summary =
            fmt::format("backend none: {} exports planned, nothing applied", exports.size());
        emit(sink, "nfs.exports_applied", severity::info,
             {{"backend", "none"}, {"exports", exports.size()}, {"changed", false}});
        return out;
    }
    const auto file = exports_file(cfg);
    std::string current;
    {
        std::ifstream in(file, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        current = ss.str();
    }
    const bool changed = current != out.text;
    if (changed || force) {
        std::error_code ec;
        std::filesystem::create_directories(file.parent_path(), ec);
        if (auto wec = write_file_atomic(file, out.text, std::filesystem::perms(0644)))
            return failed(fmt::format("write {}: {}", file.string(), wec.message()));
    }
    std::string step;
    if (b == nfs_backend::kernel) {
        auto r = run_process({"exportfs", "-ra"});
        if (!r.ok())
            return failed(fmt::format("exportfs -ra failed ({}): {}", r.status, r.output));
        step = "exportfs -ra: ok";
    } else {
        auto pidfile = cfg.nfs.ganesha_pid_file;
        auto r = reload_ganesha(pidfile);
        if (!r)
            return failed(r.error());
        step = *r;
    }
    out.summary = fmt::format("{} {} ({} exports), {}", changed ? "wrote" : "unchanged",
                              file.string(), exports.size(), step);
    emit(sink, "nfs.exports_applied", severity::info,
         {{"backend", backend_name(b)},
          {"file", file.string()},
          {"exports", exports.size()},
          {"changed", changed}});
    return out;
}

} // namespace netbootd::nfs
