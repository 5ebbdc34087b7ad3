#include "netbootd/tftp/thread_priority.hpp"

#include <cerrno>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

using netbootd::tftp::thread_priority;

namespace {

int my_nice() {
    errno = 0;
    return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
}

} // namespace

TEST(ThreadPriority, RaisedFromFourTransfers) {
    EXPECT_FALSE(thread_priority::wants_raised(0));
    EXPECT_FALSE(thread_priority::wants_raised(1));
    EXPECT_FALSE(thread_priority::wants_raised(thread_priority::busy_transfers - 1));
    EXPECT_TRUE(thread_priority::wants_raised(thread_priority::busy_transfers));
    EXPECT_TRUE(thread_priority::wants_raised(60));
}

// On a thread of its own (the nice value is per thread), with a value above the base so that the
// raise needs no privilege; the way back down needs CAP_SYS_NICE, which the tests (root) have.
TEST(ThreadPriority, FollowsTheTransferCountAndComesBack) {
    std::thread([] {
        const int base = my_nice();
        const int target = std::min(base + 3, 19);
        ASSERT_NE(target, base);
        thread_priority p(target);
        p.update(1);
        EXPECT_EQ(my_nice(), base);
        EXPECT_FALSE(p.raised());
        p.update(thread_priority::busy_transfers);
        EXPECT_EQ(my_nice(), target);
        EXPECT_TRUE(p.raised());
        p.update(60);
        EXPECT_EQ(my_nice(), target);
        p.update(0);
        EXPECT_EQ(my_nice(), base);
        EXPECT_FALSE(p.raised());
    }).join();
}

TEST(ThreadPriority, ZeroOrTheBaseValueChangesNothing) {
    std::thread([] {
        const int base = my_nice();
        thread_priority off(0);
        off.update(60);
        EXPECT_EQ(my_nice(), base);
        EXPECT_FALSE(off.raised());
        thread_priority same(base);
        same.update(60);
        EXPECT_EQ(my_nice(), base);
        EXPECT_FALSE(same.raised());
    }).join();
}
