#include <gtest/gtest.h>

#include <chrono>

#include "netbootd/power/process_runner.hpp"

namespace netbootd::power {
namespace {

using namespace std::chrono_literals;

TEST(process_runner, passes_arguments_verbatim_without_a_shell) {
    process_request req;
    req.argv = {"printf", "%s|", "$(id)", "a b", "; echo injected", "`uname`"};
    const auto r = run_process(req);
    ASSERT_TRUE(r.success()) << r.describe_failure();
    EXPECT_EQ(r.out, "$(id)|a b|; echo injected|`uname`|");
}

TEST(process_runner, captures_stderr_and_exit_status) {
    process_request req;
    req.argv = {"sh", "-c", "echo out; echo 'relay board not found' >&2; exit 3"};
    const auto r = run_process(req);
    EXPECT_TRUE(r.started);
    EXPECT_FALSE(r.success());
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.out, "out\n");
    EXPECT_EQ(r.err, "relay board not found\n");
    EXPECT_EQ(r.describe_failure(), "exit status 3: relay board not found");
}

TEST(process_runner, kills_the_process_group_at_the_timeout) {
    process_request req;
    // The grandchild holds the pipes open too: only killing the group ends it.
    req.argv = {"sh", "-c", "sleep 30 & sleep 30"};
    req.timeout = 200ms;
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = run_process(req);
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_TRUE(r.timed_out);
    EXPECT_FALSE(r.success());
    EXPECT_LT(took, 10s);
    EXPECT_NE(r.describe_failure().find("timed out after 200ms"), std::string::npos)
        << r.describe_failure();
}

TEST(process_runner, reports_a_missing_program) {
    process_request req;
    req.argv = {"/nonexistent/relay-ctl", "on", "1"};
    const auto r = run_process(req);
    EXPECT_FALSE(r.started);
    EXPECT_NE(r.describe_failure().find("cannot run '/nonexistent/relay-ctl'"), std::string::npos)
        << r.describe_failure();
}

TEST(process_runner, refuses_an_empty_argv) {
    process_request req;
    EXPECT_FALSE(run_process(req).started);
}

TEST(process_runner, adds_environment_variables) {
    process_request req;
    req.argv = {"sh", "-c", "printf %s \"$IPMI_PASSWORD\""};
    req.env = {{"IPMI_PASSWORD", "s3cret"}};
    const auto r = run_process(req);
    ASSERT_TRUE(r.success());
    EXPECT_EQ(r.out, "s3cret");
}

TEST(process_runner, bounds_captured_output) {
    process_request req;
    req.argv = {"head", "-c", "1000000", "/dev/zero"};
    req.max_output = 1000;
    const auto r = run_process(req);
    ASSERT_TRUE(r.success()) << r.describe_failure();
    EXPECT_EQ(r.out.size(), 1000u);
}

TEST(process_runner, stdin_is_empty) {
    process_request req;
    req.argv = {"cat"};
    req.timeout = 5s;
    const auto r = run_process(req);
    ASSERT_TRUE(r.success()) << r.describe_failure();
    EXPECT_EQ(r.out, "");
}

} // namespace
} // namespace netbootd::power
