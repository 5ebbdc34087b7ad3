#include "netbootd/cli/root_cmd.hpp"

#include <cstdio>
#include <iostream>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "netbootd/cli/common.hpp"
#include "netbootd/nfs/backend.hpp"
#include "netbootd/nfs/check.hpp"
#include "netbootd/nfs/exports.hpp"
#include "netbootd/nfs/import.hpp"
#include "netbootd/nfs/roots.hpp"

namespace netbootd::cli {

namespace {

struct common_opts {
    std::string config;
    bool events = false;
};

// Events are printed as JSON lines on stdout with --events (for scripts), otherwise only
// warnings and errors go to stderr as one line each.
nfs::event_sink make_sink(const common_opts& o) {
    const bool json = o.events;
    return [json](event e) {
        e.time = std::chrono::system_clock::now();
        if (json)
            std::printf("%s\n", to_json(e).dump().c_str());
        else if (e.level >= severity::warning)
            std::fprintf(stderr, "%s\n", to_line(e).c_str());
    };
}

registry_ptr load(const common_opts& o) {
    auto reg = load_registry_or_report(o.config);
    if (!reg)
        throw exit_code{1};
    return reg;
}

std::vector<const node*> select_or_exit(const registry& reg, const std::string& expr,
                                        const char* cmd) {
    auto sel = reg.select(expr);
    if (!sel) {
        std::fprintf(stderr, "netbootctl root %s: %s\n", cmd, sel.error().c_str());
        throw exit_code{2};
    }
    return *sel;
}

const node* one_node(const registry& reg, const std::string& expr, const char* cmd) {
    auto sel = select_or_exit(reg, expr, cmd);
    if (sel.size() != 1) {
        std::fprintf(stderr, "netbootctl root %s: '%s' selects %zu nodes; name exactly one\n", cmd,
                     expr.c_str(), sel.size());
        throw exit_code{2};
    }
    return sel.front();
}

CLI::App* sub(CLI::App* root, const char* name, const char* help, std::shared_ptr<common_opts>& o) {
    auto* c = root->add_subcommand(name, help);
    o = std::make_shared<common_opts>();
    add_config_option(*c, o->config);
    c->add_flag("--events", o->events, "print every event as a JSON line on stdout");
    return c;
}

bool confirm(const std::string& question) {
    if (!::isatty(0)) {
        std::fprintf(stderr, "%s\nnot a terminal: pass --yes to confirm\n", question.c_str());
        return false;
    }
    std::fprintf(stderr, "%s [y/N] ", question.c_str());
    std::string answer;
    std::getline(std::cin, answer);
    return answer == "y" || answer == "Y" || answer == "yes";
}

char change_letter(nfs::root_change::kind k) {
    switch (k) {
    case nfs::root_change::kind::added:
        return 'A';
    case nfs::root_change::kind::modified:
        return 'M';
    case nfs::root_change::kind::deleted:
        return 'D';
    case nfs::root_change::kind::replaced:
        return 'R';
    }
    return '?';
}

void print_changes(const std::vector<nfs::root_change>& changes) {
    for (const auto& c : changes)
        std::printf("%c %s%s%s\n", change_letter(c.what), c.path.c_str(), c.is_dir ? "/" : "",
                    c.per_node ? "  (per-node file: never promoted)" : "");
}

int apply_exports_for(const registry& reg, const nfs::event_sink& sink, bool print) {
    const auto& cfg = reg.config();
    std::vector<std::string> errors;
    const auto plan = nfs::plan_exports(cfg, reg.nodes(), &errors);
    for (const auto& e : errors)
        std::fprintf(stderr, "exports: %s\n", e.c_str());
    auto r = nfs::apply_exports(cfg, plan, sink);
    if (!r) {
        std::fprintf(stderr, "exports: %s\n", r.error().c_str());
        return 1;
    }
    if (print || cfg.nfs.backend == nfs_backend::none)
        std::fputs(r->text.c_str(), stdout);
    std::fprintf(stderr, "exports: %s\n", r->summary.c_str());
    return errors.empty() ? 0 : 1;
}

} // namespace

tl::expected<std::vector<const node*>, std::string>
select_destructive(const registry& reg, const std::string& expr, bool all_flag) {
    if (expr.empty())
        return tl::make_unexpected("name the nodes (e.g. node02 or 2-4)");
    auto sel = reg.select(expr);
    if (!sel)
        return tl::make_unexpected(sel.error());
    const bool everything = expr == "all" || (sel->size() == reg.nodes().size() && sel->size() > 1);
    if (everything && !all_flag)
        return tl::make_unexpected(fmt::format(
            "'{}' selects every node ({}): pass --all to really do that", expr, sel->size()));
    return sel;
}

void add_root_commands(CLI::App& app) {
    auto* root = app.add_subcommand("root", "NFS roots: import a base, per-node roots, exports");
    root->require_subcommand(1);

    // import
    {
        std::shared_ptr<common_opts> o;
        auto* c =
            sub(root, "import",
                "import a Raspberry Pi OS image, a root directory or a tarball as the base", o);
        auto source = std::make_shared<std::string>();
        auto name = std::make_shared<std::string>();
        auto force = std::make_shared<bool>(false);
        c->add_option("SOURCE", *source, "IMAGE.img, DIR or TARBALL")->required();
        c->add_option("--name", *name, "import as nfs.roots_dir/NAME instead of nfs.base_root");
        c->add_flag("--force", *force, "replace an existing base and boot files");
        c->callback([o, source, name, force] {
            auto reg = load(*o);
            const auto& cfg = reg->config();
            nfs::import_options io;
            io.source = *source;
            io.force = *force;
            if (!name->empty()) {
                if (!nfs::is_safe_component(*name)) {
                    std::fprintf(stderr, "netbootctl root import: bad --name '%s'\n",
                                 name->c_str());
                    throw exit_code{2};
                }
                io.target = cfg.nfs.roots_dir / *name;
            }
            io.progress = [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
            auto r = nfs::import_base(cfg, io, make_sink(*o));
            if (!r) {
                std::fprintf(stderr, "netbootctl root import: %s\n", r.error().c_str());
                throw exit_code{1};
            }
            std::printf("imported %s (%s): %llu files, %.1f MB into %s; boot files %s\n",
                        source->c_str(), std::string(nfs::to_string(r->kind)).c_str(),
                        static_cast<unsigned long long>(r->files),
                        static_cast<double>(r->bytes) / 1e6, r->root.string().c_str(),
                        r->boot.string().c_str());
            std::printf("manifest: %s (check: cd %s && sha256sum -c --quiet %s)\n",
                        r->manifest.string().c_str(), r->root.string().c_str(),
                        r->manifest.string().c_str());
            if (!r->cmdline_template.empty())
                std::printf("cmdline.txt template: %s\n", r->cmdline_template.string().c_str());
        });
    }

    // prepare
    {
        std::shared_ptr<common_opts> o;
        auto* c =
            sub(root, "prepare", "create the nodes' roots per their mode and apply exports", o);
        auto range = std::make_shared<std::string>("all");
        auto no_exports = std::make_shared<bool>(false);
        c->add_option("RANGE", *range, "nodes (default all)");
        c->add_flag("--no-exports", *no_exports, "do not write/apply the exports");
        c->callback([o, range, no_exports] {
            auto reg = load(*o);
            auto sink = make_sink(*o);
            nfs::root_manager roots(reg->config(), sink);
            int rc = 0;
            for (const auto* n : select_or_exit(*reg, *range, "prepare")) {
                auto r = roots.prepare(*n);
                if (r)
                    std::printf("%-12s %-8s %s\n", n->hostname.c_str(),
                                std::string(to_string(n->root)).c_str(),
                                std::string(nfs::to_string(*r)).c_str());
                else {
                    std::printf("%-12s %-8s FAILED: %s\n", n->hostname.c_str(),
                                std::string(to_string(n->root)).c_str(), r.error().c_str());
                    rc = 1;
                }
            }
            if (!*no_exports && apply_exports_for(*reg, sink, false) != 0)
                rc = 1;
            if (rc)
                throw exit_code{rc};
        });
    }

    // status
    {
        std::shared_ptr<common_opts> o;
        auto* c = sub(root, "status", "show each node's root: mode, path, state", o);
        auto range = std::make_shared<std::string>("all");
        c->add_option("RANGE", *range, "nodes (default all)");
        c->callback([o, range] {
            auto reg = load(*o);
            nfs::root_manager roots(reg->config(), make_sink(*o));
            std::printf("%4s  %-12s  %-7s  %-14s  %s\n", "POS", "HOSTNAME", "MODE", "STATE",
                        "PATH");
            for (const auto* n : select_or_exit(*reg, *range, "status")) {
                const auto s = roots.status(*n);
                std::string state;
                switch (s.pending) {
                case nfs::prepare_action::ready:
                    state = s.mounted ? "ready(mounted)" : "ready";
                    break;
                case nfs::prepare_action::use_base:
                    state = "base";
                    break;
                case nfs::prepare_action::create_overlay:
                case nfs::prepare_action::create_clone:
                    state = "missing";
                    break;
                case nfs::prepare_action::mount_overlay:
                    state = "not-mounted";
                    break;
                case nfs::prepare_action::missing_base:
                    state = "no-base";
                    break;
                case nfs::prepare_action::conflict:
                    state = "conflict";
                    break;
                }
                std::printf("%4d  %-12s  %-7s  %-14s  %s%s\n", n->position, n->hostname.c_str(),
                            std::string(to_string(n->root)).c_str(), state.c_str(),
                            s.path.string().c_str(),
                            s.error.empty() ? "" : ("  " + s.error).c_str());
            }
        });
    }

    // reset
    {
        std::shared_ptr<common_opts> o;
        auto* c =
            sub(root, "reset", "discard nodes' changes (overlay: empty layer; clone: recopy)", o);
        auto range = std::make_shared<std::string>();
        auto all = std::make_shared<bool>(false);
        c->add_option("NODES", *range, "nodes to reset (e.g. node02)")->required();
        c->add_flag("--all", *all, "allow selecting every node");
        c->callback([o, range, all] {
            auto reg = load(*o);
            auto sel = select_destructive(*reg, *range, *all);
            if (!sel) {
                std::fprintf(stderr, "netbootctl root reset: %s\n", sel.error().c_str());
                throw exit_code{2};
            }
            nfs::root_manager roots(reg->config(), make_sink(*o));
            int rc = 0;
            for (const auto* n : *sel) {
                auto r = roots.reset(*n);
                std::printf("reset %s (%s %s): %s\n", n->hostname.c_str(),
                            std::string(to_string(n->root)).c_str(),
                            roots.status(*n).path.string().c_str(), r ? "ok" : r.error().c_str());
                if (!r)
                    rc = 1;
            }
            if (rc)
                throw exit_code{rc};
        });
    }

    // diff
    {
        std::shared_ptr<common_opts> o;
        auto* c = sub(root, "diff", "what a node changed against the base (A/M/D/R path)", o);
        auto target = std::make_shared<std::string>();
        c->add_option("NODE", *target, "one node")->required();
        c->callback([o, target] {
            auto reg = load(*o);
            const auto* n = one_node(*reg, *target, "diff");
            nfs::root_manager roots(reg->config(), make_sink(*o));
            auto d = roots.diff(*n);
            if (!d) {
                std::fprintf(stderr, "netbootctl root diff %s: %s\n", n->hostname.c_str(),
                             d.error().c_str());
                throw exit_code{1};
            }
            print_changes(*d);
        });
    }

    // promote
    {
        std::shared_ptr<common_opts> o;
        auto* c = sub(root, "promote", "fold a tested node's changes into the base", o);
        auto target = std::make_shared<std::string>();
        auto dry = std::make_shared<bool>(false);
        auto yes = std::make_shared<bool>(false);
        c->add_option("NODE", *target, "one node")->required();
        c->add_flag("--dry-run", *dry, "only list what would be promoted");
        c->add_flag("-y,--yes", *yes, "do not ask for confirmation");
        c->callback([o, target, dry, yes] {
            auto reg = load(*o);
            const auto* n = one_node(*reg, *target, "promote");
            nfs::root_manager roots(reg->config(), make_sink(*o));
            auto d = roots.promote(*n, true);
            if (!d) {
                std::fprintf(stderr, "netbootctl root promote %s: %s\n", n->hostname.c_str(),
                             d.error().c_str());
                throw exit_code{1};
            }
            print_changes(*d);
            const auto count = static_cast<std::size_t>(
                std::count_if(d->begin(), d->end(), [](const auto& ch) { return !ch.per_node; }));
            if (*dry) {
                std::printf("dry run: %zu change%s of %s would go into %s\n", count,
                            count == 1 ? "" : "s", n->hostname.c_str(),
                            reg->config().nfs.base_root.string().c_str());
                return;
            }
            if (!*yes &&
                !confirm(fmt::format("promote {} change(s) of {} into the base {} (every node "
                                     "using the base sees them)?",
                                     count, n->hostname, reg->config().nfs.base_root.string()))) {
                std::fprintf(stderr, "not promoted\n");
                throw exit_code{1};
            }
            auto r = roots.promote(*n, false);
            if (!r) {
                std::fprintf(stderr, "netbootctl root promote %s: %s\n", n->hostname.c_str(),
                             r.error().c_str());
                throw exit_code{1};
            }
            std::printf("promoted %zu change%s of %s into %s\n", count, count == 1 ? "" : "s",
                        n->hostname.c_str(), reg->config().nfs.base_root.string().c_str());
        });
    }

    // clone
    {
        std::shared_ptr<common_opts> o;
        auto* c = sub(root, "clone", "make a node's root a copy of another node's root", o);
        auto target = std::make_shared<std::string>();
        auto from = std::make_shared<std::string>();
        c->add_option("NODE", *target, "the node whose root is replaced")->required();
        c->add_option("--from", *from, "the node to copy")->required();
        c->callback([o, target, from] {
            auto reg = load(*o);
            const auto* t = one_node(*reg, *target, "clone");
            const auto* s = one_node(*reg, *from, "clone");
            nfs::root_manager roots(reg->config(), make_sink(*o));
            auto r = roots.clone_from(*t, *s);
            if (!r) {
                std::fprintf(stderr, "netbootctl root clone %s --from %s: %s\n",
                             t->hostname.c_str(), s->hostname.c_str(), r.error().c_str());
                throw exit_code{1};
            }
            std::printf("%s now has a copy of %s's root\n", t->hostname.c_str(),
                        s->hostname.c_str());
        });
    }

    // exports
    {
        std::shared_ptr<common_opts> o;
        auto* c = sub(root, "exports", "print (and with --apply, write and apply) the exports", o);
        auto apply = std::make_shared<bool>(false);
        auto backend = std::make_shared<std::string>();
        c->add_flag("--apply", *apply, "write the file and reload the NFS server");
        c->add_option("--format", *backend, "print as kernel|ganesha|plan (default: the backend)");
        c->callback([o, apply, backend] {
            auto reg = load(*o);
            if (*apply) {
                if (int rc = apply_exports_for(*reg, make_sink(*o), false); rc != 0)
                    throw exit_code{rc};
                return;
            }
            std::vector<std::string> errors;
            const auto plan = nfs::plan_exports(reg->config(), reg->nodes(), &errors);
            auto b = reg->config().nfs.backend;
            if (*backend == "kernel")
                b = nfs_backend::kernel;
            else if (*backend == "ganesha")
                b = nfs_backend::ganesha;
            else if (*backend == "plan")
                b = nfs_backend::none;
            else if (!backend->empty()) {
                std::fprintf(stderr, "--format: kernel, ganesha or plan\n");
                throw exit_code{2};
            }
            std::fputs(nfs::render_for_backend(b, plan).c_str(), stdout);
            for (const auto& e : errors)
                std::fprintf(stderr, "exports: %s\n", e.c_str());
            if (!errors.empty())
                throw exit_code{1};
        });
    }

    // check
    {
        std::shared_ptr<common_opts> o;
        auto* c = sub(root, "check",
                      "check over NFS (libnfs) that each node's root is exported to it, mounts "
                      "and holds /sbin/init and its /etc/hostname",
                      o);
        auto range = std::make_shared<std::string>("all");
        auto server = std::make_shared<std::string>();
        auto require_mount = std::make_shared<bool>(false);
        c->add_option("RANGE", *range, "nodes (default all)");
        c->add_option("--server", *server, "NFS server address (default cluster.server_ip)");
        c->add_flag("--require-mount", *require_mount,
                    "a refused mount is a failure (use when running from the node's address)");
        c->callback([o, range, server, require_mount] {
            auto reg = load(*o);
            const auto srv =
                server->empty() ? reg->config().cluster.server_ip.to_string() : *server;
            auto sink = make_sink(*o);
            auto listed = nfs::list_exports(srv);
            if (!listed) {
                std::fprintf(stderr, "netbootctl root check: %s\n", listed.error().c_str());
                throw exit_code{1};
            }
            int rc = 0;
            for (const auto* n : select_or_exit(*reg, *range, "check")) {
                auto r =
                    nfs::check_node_root(reg->config(), *n, srv, *listed, *require_mount, sink);
                const bool ok = r.ok(*require_mount);
                std::printf("%-12s %-4s %s: export %s, mount %s, init %s, hostname %s - %s\n",
                            n->hostname.c_str(), ok ? "OK" : "FAIL", r.path.c_str(),
                            r.listed ? "listed" : "missing",
                            std::string(nfs::to_string(r.mount)).c_str(),
                            r.mount == nfs::mount_outcome::ok ? (r.has_init ? "yes" : "no") : "-",
                            r.mount == nfs::mount_outcome::ok
                                ? (r.hostname_read.empty() ? "(none)" : r.hostname_read.c_str())
                                : "-",
                            r.detail.c_str());
                if (!ok)
                    rc = 1;
            }
            if (rc)
                throw exit_code{rc};
        });
    }
}

} // namespace netbootd::cli
