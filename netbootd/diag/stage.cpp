#include "netbootd/diag/stage.hpp"

#include <array>

namespace netbootd::diag {

namespace {

constexpr std::array<std::string_view, 7> stage_names = {"off",    "powered",  "dhcp", "firmware",
                                                         "kernel", "nfs-root", "up"};

std::string field_string(const nlohmann::json& fields, const char* key) {
    if (fields.is_object()) {
        auto it = fields.find(key);
        if (it != fields.end() && it->is_string())
            return it->get<std::string>();
    }
    return {};
}

std::optional<std::int64_t> field_int(const nlohmann::json& fields, const char* key) {
    if (fields.is_object()) {
        auto it = fields.find(key);
        if (it != fields.end() && it->is_number_integer())
            return it->get<std::int64_t>();
    }
    return std::nullopt;
}

void advance(node_state& s, stage to, time_point t) {
    if (to > s.current) {
        s.current = to;
        s.since = t;
    }
}

// A new boot attempt: everything learned about the previous one is history (kept in the event
// log), the counters start again.
void new_cycle(node_state& s, stage to, const event& e) {
    node_state fresh;
    fresh.current = to;
    fresh.since = e.time;
    fresh.cycle_start = e.time;
    fresh.cycle_seq = e.seq;
    fresh.cycles = s.cycles + 1;
    fresh.ip = s.ip;
    fresh.lease_seconds = s.lease_seconds;
    fresh.lease_time = s.lease_time;
    fresh.power = s.power;
    s = std::move(fresh);
}

// The DHCP clients that start a boot from scratch (ROM / EEPROM bootloader). A bootcode.bin
// or UEFI DHCP is a later step of the same boot.
bool starts_boot(std::string_view client) {
    return client == "pi3b-rom" || client == "pi3-rom" || client == "pi4" || client == "pi5";
}

bool is_dhcp_from_node(std::string_view kind) {
    return kind == "dhcp.discover" || kind == "dhcp.request" || kind == "dhcp.offer" ||
           kind == "dhcp.ack" || kind == "dhcp.nak" || kind == "dhcp.drop";
}

} // namespace

std::string_view to_string(stage s) {
    return stage_names[static_cast<std::size_t>(s)];
}

std::optional<stage> parse_stage(std::string_view text) {
    for (std::size_t i = 0; i < stage_names.size(); ++i)
        if (stage_names[i] == text)
            return static_cast<stage>(i);
    if (text == "nfs_root" || text == "nfs")
        return stage::nfs_root;
    return std::nullopt;
}

std::string_view basename(std::string_view file) {
    auto slash = file.find_last_of('/');
    return slash == std::string_view::npos ? file : file.substr(slash + 1);
}

bool is_firmware_file(std::string_view file) {
    const auto b = basename(file);
    return b == "bootcode.bin" || b == "start.elf" || b == "start4.elf" || b == "config.txt" ||
           (b.starts_with("fixup") && b.ends_with(".dat"));
}

bool is_kernel_file(std::string_view file) {
    const auto b = basename(file);
    return b.starts_with("kernel") && b.ends_with(".img");
}

node_state apply(node_state s, const event& e) {
    s.last_event_time = e.time;
    s.last_event_kind = e.kind;
    s.last_event_seq = e.seq;
    const auto& k = e.kind;

    if (k == "power.on" || k == "power.cycle") {
        new_cycle(s, stage::powered, e);
        s.power = "on";
        return s;
    }
    if (k == "power.off") {
        new_cycle(s, stage::off, e);
        s.power = "off";
        return s;
    }
    if (k == "power.failed") {
        s.power = "failed";
        return s;
    }

    if (is_dhcp_from_node(k)) {
        // The DHCP module names the boot stage `class`; `stage` is accepted too.
        auto client = field_string(e.fields, "class");
        if (client.empty())
            client = field_string(e.fields, "stage");
        if (!client.empty())
            s.dhcp_client = client;
        if (client == "kernel") {
            advance(s, stage::kernel, e.time);
        } else if (starts_boot(client) && s.current > stage::dhcp && k == "dhcp.discover") {
            // The bootloader is starting over: a reboot, or a retry after a failed TFTP stage.
            new_cycle(s, stage::dhcp, e);
            s.dhcp_client = client;
        } else {
            advance(s, stage::dhcp, e.time);
        }
        if (k == "dhcp.discover")
            ++s.discovers;
        else if (k == "dhcp.request")
            ++s.requests;
        else if (k == "dhcp.drop")
            ++s.drops;
        else if (k == "dhcp.offer" || k == "dhcp.ack") {
            if (k == "dhcp.offer") {
                ++s.offers;
                s.last_offer = e.time;
            } else {
                ++s.acks;
            }
            if (e.ip)
                s.ip = e.ip;
            if (auto yi = field_string(e.fields, "yiaddr"); !yi.empty())
                if (auto a = ipv4_address::parse(yi))
                    s.ip = a;
            if (auto lt = field_int(e.fields, "lease_time")) {
                s.lease_seconds = *lt;
                s.lease_time = e.time;
            } else if (e.fields.is_object() && e.fields.contains("lease_time") &&
                       e.fields["lease_time"].is_string() &&
                       e.fields["lease_time"].get<std::string>() == "infinite") {
                s.lease_seconds = -1;
                s.lease_time = e.time;
            }
        }
        return s;
    }

    if (k.starts_with("tftp.")) {
        advance(s, stage::firmware, e.time);
        s.last_tftp = e.time;
        if (e.ip)
            s.ip = e.ip;
        const auto file = field_string(e.fields, "file");
        if (k == "tftp.rrq") {
            ++s.rrqs;
        } else if (k == "tftp.sent") {
            ++s.files_sent;
            if (auto b = field_int(e.fields, "bytes"); b && *b > 0)
                s.bytes_sent += static_cast<std::uint64_t>(*b);
            s.last_file = file;
            const auto b = basename(file);
            if (b == "start.elf" || b == "start4.elf")
                s.firmware_sent = e.time;
            if (is_kernel_file(file)) {
                s.kernel_sent = e.time;
                advance(s, stage::kernel, e.time);
            }
        }
        return s;
    }

    if (k == "nfs.mount") {
        advance(s, stage::nfs_root, e.time);
        return s;
    }
    if (k == "agent.up") {
        advance(s, stage::up, e.time);
        if (e.ip)
            s.ip = e.ip;
        s.agent_hostname = field_string(e.fields, "hostname");
        s.agent_kernel = field_string(e.fields, "kernel");
        return s;
    }
    return s;
}

} // namespace netbootd::diag
