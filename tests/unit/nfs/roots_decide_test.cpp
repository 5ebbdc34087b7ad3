#include <gtest/gtest.h>

#include "netbootd/nfs/roots.hpp"

using namespace netbootd;
using namespace netbootd::nfs;

// Each row changes one observation and checks the action `prepare` takes.
TEST(nfs_roots, decide_prepare_table) {
    struct row {
        const char* what;
        root_mode mode;
        observed_root o;
        prepare_action want;
    };
    const observed_root none{true, false, false, false, false};
    auto with = [&](auto f) {
        observed_root o = none;
        f(o);
        return o;
    };
    const std::vector<row> rows = {
        {"shared uses the base", root_mode::shared, none, prepare_action::use_base},
        {"no base: nothing can be made", root_mode::overlay,
         with([](auto& o) { o.base_exists = false; }), prepare_action::missing_base},
        {"overlay from nothing", root_mode::overlay, none, prepare_action::create_overlay},
        {"overlay layers without mount (after reboot)", root_mode::overlay, with([](auto& o) {
             o.upper_exists = true;
             o.root_exists = true;
         }),
         prepare_action::mount_overlay},
        {"overlay mounted", root_mode::overlay,
         with([](auto& o) { o.upper_exists = o.root_exists = o.root_mounted = true; }),
         prepare_action::ready},
        {"overlay wanted, a clone is there", root_mode::overlay,
         with([](auto& o) { o.root_exists = o.root_has_files = true; }), prepare_action::conflict},
        {"overlay wanted, something else mounted there", root_mode::overlay,
         with([](auto& o) { o.root_exists = o.root_mounted = true; }), prepare_action::conflict},
        {"clone from nothing", root_mode::clone, none, prepare_action::create_clone},
        {"clone: empty dir left behind", root_mode::clone,
         with([](auto& o) { o.root_exists = true; }), prepare_action::create_clone},
        {"clone present", root_mode::clone,
         with([](auto& o) { o.root_exists = o.root_has_files = true; }), prepare_action::ready},
        {"clone wanted, still an overlay", root_mode::clone,
         with([](auto& o) { o.upper_exists = o.root_exists = o.root_mounted = true; }),
         prepare_action::conflict},
    };
    for (const auto& r : rows)
        EXPECT_EQ(to_string(decide_prepare(r.mode, r.o)), to_string(r.want)) << r.what;
}
