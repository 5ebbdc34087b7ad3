#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "netbootd/api/service.hpp"

#include <spdlog/spdlog.h>

namespace netbootd::api {

api_service::api_service(service_context& ctx, server_limits limits)
    : ctx_(ctx), limits_(limits), tracker_(ctx.events, ctx.registry), metrics_(ctx.events),
      power_(std::make_shared<async_power_hook>()) {
    const auto reg = ctx.registry.get();
    const auto& dir = reg->config().cluster.state_dir;
    try {
        log_ = std::make_unique<diag::event_log>(dir);
        log_sub_ = ctx.events.subscribe([log = log_.get()](const event& e) { log->append(e); });
    } catch (const std::exception& ex) {
        // History then comes from the in-memory ring only; the daemon keeps running.
        spdlog::warn("api: no on-disk event log in {}: {}", dir.string(), ex.what());
    }
}

api_service::~api_service() {
    stop();
}

void api_service::start() {
    const auto reg = ctx_.registry.get();
    const auto& cfg = reg->config().api;
    std::optional<std::string> token;
    if (cfg.token_file)
        token = load_token(*cfg.token_file);
    router_deps deps{ctx_.registry,
                     ctx_.events,
                     tracker_,
                     log_.get(),
                     &metrics_,
                     authenticator(token),
                     {},
                     [] { return std::chrono::system_clock::now(); },
                     {}};
    deps.power = *power_;
    router_ = std::make_unique<router>(std::move(deps));
    server_ = std::make_unique<server>(ctx_.io, *router_, ctx_.events, &metrics_, limits_);
    server_->listen_tcp(cfg.listen);
    if (cfg.unix_socket)
        server_->listen_unix(*cfg.unix_socket);
    if (cfg.capture) {
        const auto& cl = reg->config().cluster;
        sniffer_ =
            std::make_unique<diag::sniffer>(ctx_.events, ctx_.registry, cl.interface, cl.server_ip);
        sniffer_->start();
        spdlog::info("api: passive capture on {}", cl.interface);
    }
    spdlog::info("api: listening on {}{}", cfg.listen,
                 cfg.unix_socket ? " and " + cfg.unix_socket->string() : std::string());
}

void api_service::stop() {
    if (sniffer_)
        sniffer_->stop();
    if (server_)
        server_->stop();
}

void api_service::set_power_hook(async_power_hook hook) {
    *power_ = hook;
    if (router_)
        router_->set_power_hook(std::move(hook));
}

boost::asio::ip::tcp::endpoint api_service::endpoint() const {
    return server_ ? server_->tcp_endpoint() : boost::asio::ip::tcp::endpoint{};
}

std::unique_ptr<netbootd::service> make_service(service_context& ctx) {
    return std::make_unique<api_service>(ctx);
}

} // namespace netbootd::api
