#include "netbootd/emu/report.hpp"

namespace netbootd::emu {

void check_list::add(const std::string& name, bool ok, std::string detail, bool required) {
    for (auto& c : checks_) {
        if (c.name != name)
            continue;
        if (c.ok && !ok)
            c.detail = std::move(detail);
        c.ok = c.ok && ok;
        c.required = c.required || required;
        return;
    }
    checks_.push_back({name, ok, std::move(detail), required});
}

bool check_list::required_ok() const {
    for (const auto& c : checks_)
        if (c.required && !c.ok)
            return false;
    return true;
}

const check* check_list::find(const std::string& name) const {
    for (const auto& c : checks_)
        if (c.name == name)
            return &c;
    return nullptr;
}

nlohmann::json boot_report::to_json() const {
    nlohmann::json j;
    j["model"] = model;
    j["mac"] = mac;
    j["ip"] = ip;
    j["tftp_server"] = tftp_server;
    j["prefix"] = prefix;
    j["stages"] = stages;
    auto& files_json = j["files"] = nlohmann::json::array();
    for (const auto& f : files) {
        nlohmann::json e{{"name", f.name},
                         {"result", std::string(to_string(f.outcome))},
                         {"bytes", f.bytes},
                         {"port", f.local_port}};
        if (f.outcome == file_outcome::fetched)
            e["sha256"] = f.sha256;
        if (f.tsize)
            e["tsize"] = *f.tsize;
        if (f.blksize)
            e["blksize"] = *f.blksize;
        if (!f.detail.empty())
            e["detail"] = f.detail;
        files_json.push_back(std::move(e));
    }
    auto& checks_json = j["checks"] = nlohmann::json::array();
    for (const auto& c : checks.all())
        checks_json.push_back(
            {{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}, {"required", c.required}});
    j["completed"] = completed;
    j["ok"] = ok();
    if (!error.empty())
        j["error"] = error;
    if (setup_error)
        j["setup_error"] = true;
    return j;
}

} // namespace netbootd::emu
