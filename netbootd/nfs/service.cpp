#include "netbootd/nfs/service.hpp"

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "netbootd/nfs/backend.hpp"
#include "netbootd/nfs/exports.hpp"
#include "netbootd/nfs/roots.hpp"

namespace netbootd::nfs {

namespace {

class nfs_service final : public service {
  public:
    explicit nfs_service(service_context& ctx) : ctx_(ctx) {}
    ~nfs_service() override { stop(); }

    std::string_view name() const override { return "nfs"; }

    void start() override { run(ctx_.registry.get()); }

    void stop() override {
        stopping_ = true;
        if (worker_.joinable())
            worker_.join();
    }

    void reloaded(const registry_ptr& next) override { run(next); }

  private:
    // Never blocks the caller (a reload on the io_context thread): a running worker picks the
    // newest snapshot up when it finishes the current pass.
    void run(registry_ptr reg) {
        std::lock_guard lock(mu_);
        pending_ = std::move(reg);
        if (busy_)
            return;
        busy_ = true;
        if (worker_.joinable())
            worker_.join(); // finished: it cleared busy_ before returning
        worker_ = std::thread([this] { loop(); });
    }

    void loop() {
        for (;;) {
            registry_ptr reg;
            {
                std::lock_guard lock(mu_);
                if (!pending_ || stopping_) {
                    busy_ = false;
                    return;
                }
                reg = std::move(pending_);
                pending_.reset();
            }
            prepare_all(*reg);
        }
    }

    void prepare_all(const registry& reg) {
        const auto& cfg = reg.config();
        event_sink sink = [this](event e) { ctx_.events.publish(std::move(e)); };
        root_manager roots(cfg, sink);
        std::error_code ec;
        if (!std::filesystem::is_directory(cfg.nfs.base_root, ec)) {
            // One event, not one per node: nothing can be made before `netbootctl root import`.
            event e;
            e.source = "nfs";
            e.kind = "nfs.base_missing";
            e.level = severity::warning;
            e.fields = {{"base", cfg.nfs.base_root.string()}, {"nodes", reg.nodes().size()}};
            ctx_.events.publish(std::move(e));
        }
        for (const auto& n : reg.nodes()) {
            if (stopping_)
                return;
            const auto st = roots.status(n);
            // Only what is missing: an existing root is the node's state, never touched here.
            if (st.pending == prepare_action::create_overlay ||
                st.pending == prepare_action::mount_overlay ||
                st.pending == prepare_action::create_clone)
                (void)roots.prepare(n);
            else if (st.pending == prepare_action::conflict)
                (void)roots.prepare(n); // reports nfs.root_failed with the reason
            else
                (void)roots.prepare_content(n);
        }
        if (cfg.nfs.backend == nfs_backend::none || stopping_)
            return;
        std::vector<std::string> errors;
        const auto plan = plan_exports(cfg, reg.nodes(), &errors);
        (void)apply_exports(cfg, plan, sink);
    }

    service_context& ctx_;
    std::mutex mu_;
    registry_ptr pending_;
    bool busy_ = false;
    std::thread worker_;
    std::atomic<bool> stopping_{false};
};

} // namespace

std::unique_ptr<service> make_service(service_context& ctx) {
    return std::make_unique<nfs_service>(ctx);
}

} // namespace netbootd::nfs
