#include "netbootd/nfs/service.hpp"

#include <atomic>
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
    void run(registry_ptr reg) {
        if (worker_.joinable())
            worker_.join();
        stopping_ = false;
        worker_ = std::thread([this, reg = std::move(reg)] { prepare_all(*reg); });
    }

    void prepare_all(const registry& reg) {
        const auto& cfg = reg.config();
        event_sink sink = [this](event e) { ctx_.events.publish(std::move(e)); };
        root_manager roots(cfg, sink);
        for (const auto& n : reg.nodes()) {
            if (stopping_)
                return;
            const auto st = roots.status(n);
            // Only what is missing: an existing root is the node's state, never touched here.
            if (st.pending == prepare_action::create_overlay ||
                st.pending == prepare_action::mount_overlay ||
                st.pending == prepare_action::create_clone)
                (void)roots.prepare(n);
            else if (st.pending == prepare_action::missing_base ||
                     st.pending == prepare_action::conflict)
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
    std::thread worker_;
    std::atomic<bool> stopping_{false};
};

} // namespace

std::unique_ptr<service> make_service(service_context& ctx) {
    return std::make_unique<nfs_service>(ctx);
}

} // namespace netbootd::nfs
