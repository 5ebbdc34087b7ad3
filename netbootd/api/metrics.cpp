#include "netbootd/api/metrics.hpp"

#include <fmt/format.h>

namespace netbootd::api {

namespace {

// Label values may hold anything a client sent (a drop reason); escape per the text format.
std::string label(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"')
            out += '\\', out += c;
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

} // namespace

metrics::metrics(event_bus& bus) : bus_(bus) {
    sub_ = bus_.subscribe([this](const event& e) { on_event(e); });
}

void metrics::on_event(const event& e) {
    const bool drop = e.kind.ends_with(".drop") || e.kind == "tftp.error";
    const bool sent = e.kind == "tftp.sent";
    if (!drop && !sent)
        return;
    std::lock_guard lock(mu_);
    if (drop) {
        std::string reason = "unknown";
        if (e.fields.is_object()) {
            auto it = e.fields.find("reason");
            if (it != e.fields.end() && it->is_string())
                reason = it->get<std::string>();
        }
        // Bound the label set: a client must not be able to grow it without limit.
        const auto key = std::make_pair(
            e.source.empty() ? e.kind.substr(0, e.kind.find('.')) : e.source, reason.substr(0, 64));
        if (drops_.size() < 256 || drops_.contains(key))
            ++drops_[key];
        else
            ++drops_[{key.first, "other"}];
    }
    if (sent && e.fields.is_object()) {
        auto it = e.fields.find("bytes");
        if (it != e.fields.end() && it->is_number_integer() && it->get<std::int64_t>() > 0)
            tftp_bytes_ += static_cast<std::uint64_t>(it->get<std::int64_t>());
    }
}

void metrics::count_request(int status) {
    std::lock_guard lock(mu_);
    ++requests_[status];
}

std::string metrics::render(const std::map<std::string, std::uint64_t>& kinds,
                            const std::map<diag::stage, int>& stages) const {
    std::string out;
    auto o = std::back_inserter(out);
    auto count_of = [&](const std::string& k) {
        auto it = kinds.find(k);
        return it == kinds.end() ? std::uint64_t{0} : it->second;
    };

    out += "# HELP netbootd_events_total Events published, by kind.\n"
           "# TYPE netbootd_events_total counter\n";
    for (const auto& [k, n] : kinds)
        fmt::format_to(o, "netbootd_events_total{{kind=\"{}\"}} {}\n", label(k), n);

    out += "# HELP netbootd_dhcp_packets_total DHCP packets handled, by message type.\n"
           "# TYPE netbootd_dhcp_packets_total counter\n";
    for (auto t : {"discover", "offer", "request", "ack", "nak"})
        fmt::format_to(o, "netbootd_dhcp_packets_total{{type=\"{}\"}} {}\n", t,
                       count_of(std::string("dhcp.") + t));

    out += "# HELP netbootd_tftp_requests_total TFTP read requests received.\n"
           "# TYPE netbootd_tftp_requests_total counter\n";
    fmt::format_to(o, "netbootd_tftp_requests_total {}\n", count_of("tftp.rrq"));
    out += "# HELP netbootd_tftp_transfers_total TFTP transfers ended, by result.\n"
           "# TYPE netbootd_tftp_transfers_total counter\n";
    for (auto r : {"sent", "not_found", "early_terminate", "timeout", "error"})
        fmt::format_to(o, "netbootd_tftp_transfers_total{{result=\"{}\"}} {}\n", r,
                       count_of(std::string("tftp.") + r));

    {
        std::lock_guard lock(mu_);
        out += "# HELP netbootd_tftp_sent_bytes_total Bytes of files sent completely.\n"
               "# TYPE netbootd_tftp_sent_bytes_total counter\n";
        fmt::format_to(o, "netbootd_tftp_sent_bytes_total {}\n", tftp_bytes_);
        out += "# HELP netbootd_drops_total Packets dropped, by source and reason.\n"
               "# TYPE netbootd_drops_total counter\n";
        for (const auto& [key, n] : drops_)
            fmt::format_to(o, "netbootd_drops_total{{source=\"{}\",reason=\"{}\"}} {}\n",
                           label(key.first), label(key.second), n);
        out += "# HELP netbootd_api_requests_total API requests answered, by status code.\n"
               "# TYPE netbootd_api_requests_total counter\n";
        for (const auto& [code, n] : requests_)
            fmt::format_to(o, "netbootd_api_requests_total{{code=\"{}\"}} {}\n", code, n);
    }

    out += "# HELP netbootd_nodes Nodes per boot stage.\n# TYPE netbootd_nodes gauge\n";
    for (auto s : {diag::stage::off, diag::stage::powered, diag::stage::dhcp, diag::stage::firmware,
                   diag::stage::kernel, diag::stage::nfs_root, diag::stage::up}) {
        auto it = stages.find(s);
        fmt::format_to(o, "netbootd_nodes{{stage=\"{}\"}} {}\n", diag::to_string(s),
                       it == stages.end() ? 0 : it->second);
    }
    out += "# HELP netbootd_api_connections Open API connections.\n"
           "# TYPE netbootd_api_connections gauge\n";
    fmt::format_to(o, "netbootd_api_connections {}\n", connections_.load());
    out += "# HELP netbootd_api_connections_refused_total Connections refused at the limit.\n"
           "# TYPE netbootd_api_connections_refused_total counter\n";
    fmt::format_to(o, "netbootd_api_connections_refused_total {}\n", refused_.load());
    out += "# HELP netbootd_api_streams Open event streams (SSE).\n"
           "# TYPE netbootd_api_streams gauge\n";
    fmt::format_to(o, "netbootd_api_streams {}\n", streams_.load());
    out += "# HELP netbootd_api_streams_dropped_total Streams closed because the client was too "
           "slow.\n# TYPE netbootd_api_streams_dropped_total counter\n";
    fmt::format_to(o, "netbootd_api_streams_dropped_total {}\n", slow_streams_.load());
    return out;
}

} // namespace netbootd::api
