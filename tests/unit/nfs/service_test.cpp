// The daemon's NFS service: missing roots are made at start on a worker thread, a missing base is
// one warning, not one error per node.
#include "netbootd/nfs/service.hpp"

#include <chrono>
#include <fstream>
#include <thread>

#include <sys/mount.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "netbootd/nfs/fsutil.hpp"
#include "test_config.hpp"

using namespace netbootd;
namespace fs = std::filesystem;

namespace {

struct harness {
    fs::path dir;
    boost::asio::io_context io;
    event_bus bus;
    std::unique_ptr<registry_holder> holder;
    std::unique_ptr<service_context> ctx;

    explicit harness(bool with_base) {
        char t[] = "/tmp/nfs-service.XXXXXX";
        dir = ::mkdtemp(t);
        auto cfg = nfs::test::make_config(dir);
        if (with_base) {
            fs::create_directories(cfg.nfs.base_root / "sbin");
            std::ofstream(cfg.nfs.base_root / "sbin/init") << "#!/bin/sh\n";
        }
        holder = std::make_unique<registry_holder>(std::make_shared<const registry>(cfg));
        ctx = std::make_unique<service_context>(service_context{io, *holder, bus});
    }
    ~harness() {
        for (const char* h : {"node02", "node03"})
            if (nfs::is_mount_point(dir / "roots" / h))
                ::umount2((dir / "roots" / h).c_str(), 0);
        fs::remove_all(dir);
    }
    std::uint64_t count(const std::string& kind) const {
        auto c = bus.counts();
        return c.count(kind) ? c[kind] : 0;
    }
};

bool wait_for(const std::function<bool()>& f) {
    for (int i = 0; i < 100; ++i) {
        if (f())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return f();
}

} // namespace

TEST(nfs_service, makes_missing_roots_at_start) {
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root (overlay mounts); CI runs as root";
    harness h(true);
    auto svc = nfs::make_service(*h.ctx);
    EXPECT_EQ(svc->name(), "nfs");
    svc->start();
    EXPECT_TRUE(wait_for([&] { return h.count("nfs.root_ready") >= 2; }))
        << "node02 (overlay) and node03 (clone)";
    svc->stop();
    EXPECT_TRUE(nfs::is_mount_point(h.dir / "roots/node02"));
    EXPECT_TRUE(fs::exists(h.dir / "roots/node03/sbin/init"));
    EXPECT_EQ(h.count("nfs.root_failed"), 0u);
}

TEST(nfs_service, missing_base_is_one_warning) {
    harness h(false);
    auto svc = nfs::make_service(*h.ctx);
    svc->start();
    EXPECT_TRUE(wait_for([&] { return h.count("nfs.base_missing") == 1; }));
    svc->stop();
    EXPECT_EQ(h.count("nfs.root_failed"), 0u);
    EXPECT_EQ(h.count("nfs.base_missing"), 1u);
}
