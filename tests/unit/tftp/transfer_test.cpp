#include "netbootd/tftp/transfer.hpp"

#include <gtest/gtest.h>

namespace netbootd::tftp {
namespace {

using namespace std::chrono_literals;

struct fake_clock {
    steady_time now{std::chrono::seconds(1000)};
    void advance(std::chrono::milliseconds d) { now += d; }
};

transfer_params params(std::uint64_t size, std::uint16_t blk = 512, std::uint16_t win = 1,
                       bool oack = false) {
    transfer_params p;
    p.size = size;
    p.blksize = blk;
    p.windowsize = win;
    p.oack = oack;
    return p;
}

TEST(transfer, lock_step_without_oack) {
    fake_clock c;
    transfer t(params(1000), c.now);
    auto a = t.start(c.now);
    EXPECT_EQ(a.what, action::kind::send);
    EXPECT_FALSE(a.oack);
    EXPECT_EQ(a.first, 1u);
    EXPECT_EQ(a.count, 1u);
    EXPECT_EQ(t.block_length(1), 512u);
    EXPECT_EQ(t.block_length(2), 488u);
    a = t.on_ack(1, c.now);
    EXPECT_EQ(a.what, action::kind::send);
    EXPECT_EQ(a.first, 2u);
    a = t.on_ack(2, c.now);
    EXPECT_EQ(a.what, action::kind::done);
    EXPECT_TRUE(a.final_ack);
    EXPECT_TRUE(t.finished());
}

TEST(transfer, oack_then_data) {
    fake_clock c;
    transfer t(params(100, 512, 1, true), c.now);
    auto a = t.start(c.now);
    EXPECT_TRUE(a.oack);
    EXPECT_EQ(t.on_ack(1, c.now).what, action::kind::none) << "ACK 1 before DATA 1 is stale";
    a = t.on_ack(0, c.now);
    EXPECT_EQ(a.first, 1u);
    EXPECT_EQ(t.on_ack(1, c.now).what, action::kind::done);
}

TEST(transfer, exact_multiple_ends_with_empty_block) {
    fake_clock c;
    transfer t(params(1024), c.now);
    EXPECT_EQ(t.block_count(), 3u);
    EXPECT_EQ(t.block_length(3), 0u);
}

TEST(transfer, empty_file_is_one_empty_block) {
    fake_clock c;
    transfer t(params(0), c.now);
    auto a = t.start(c.now);
    EXPECT_EQ(a.count, 1u);
    EXPECT_EQ(t.block_length(1), 0u);
    EXPECT_EQ(t.on_ack(1, c.now).what, action::kind::done);
}

TEST(transfer, duplicate_ack_is_never_answered) {
    fake_clock c;
    transfer t(params(5000), c.now);
    t.start(c.now);
    t.on_ack(1, c.now);
    t.on_ack(2, c.now);
    // Sorcerer's Apprentice: a re-sent ACK 2 must not trigger a second DATA 3 (spec T5).
    EXPECT_EQ(t.on_ack(2, c.now).what, action::kind::none);
    EXPECT_EQ(t.on_ack(1, c.now).what, action::kind::none);
    EXPECT_EQ(t.on_ack(9, c.now).what, action::kind::none) << "ACK for an unsent block";
    EXPECT_EQ(t.ignored_acks(), 3u);
    EXPECT_EQ(t.retransmits(), 0u);
}

TEST(transfer, retransmits_only_on_timeout_with_backoff) {
    fake_clock c;
    auto p = params(5000);
    p.initial_timeout = 1000ms;
    p.max_timeout = 3000ms;
    p.max_retries = 3;
    transfer t(p, c.now);
    t.start(c.now);
    t.on_ack(1, c.now);
    EXPECT_EQ(t.deadline(), c.now + 1000ms);
    c.advance(999ms);
    EXPECT_EQ(t.on_timeout(c.now).what, action::kind::none) << "not yet due";
    c.advance(1ms);
    auto a = t.on_timeout(c.now);
    EXPECT_EQ(a.what, action::kind::send);
    EXPECT_TRUE(a.retransmit);
    EXPECT_EQ(a.first, 2u);
    EXPECT_EQ(t.deadline(), c.now + 2000ms);
    c.advance(2000ms);
    t.on_timeout(c.now);
    EXPECT_EQ(t.deadline(), c.now + 3000ms) << "capped at max_timeout";
    c.advance(3000ms);
    t.on_timeout(c.now);
    c.advance(3000ms);
    EXPECT_EQ(t.on_timeout(c.now).what, action::kind::timed_out);
    EXPECT_EQ(t.retransmits(), 3u);
    EXPECT_TRUE(t.finished());
    EXPECT_EQ(t.deadline(), steady_time::max());
}

TEST(transfer, progress_resets_backoff) {
    fake_clock c;
    transfer t(params(5000), c.now);
    t.start(c.now);
    c.advance(1000ms);
    t.on_timeout(c.now);
    c.advance(100ms);
    t.on_ack(1, c.now);
    EXPECT_EQ(t.deadline(), c.now + 1000ms);
}

TEST(transfer, missing_final_ack_counts_as_sent) {
    fake_clock c;
    auto p = params(100);
    p.max_retries = 1;
    transfer t(p, c.now);
    t.start(c.now);
    c.advance(1000ms);
    EXPECT_EQ(t.on_timeout(c.now).what, action::kind::send);
    c.advance(2000ms);
    auto a = t.on_timeout(c.now);
    EXPECT_EQ(a.what, action::kind::done) << "spec T9";
    EXPECT_FALSE(a.final_ack);
}

TEST(transfer, early_terminate_ends_without_sending) {
    fake_clock c;
    transfer t(params(100000, 1024, 1, true), c.now);
    t.start(c.now);
    t.on_ack(0, c.now);
    EXPECT_EQ(t.on_error().what, action::kind::aborted);
    EXPECT_TRUE(t.finished());
    c.advance(10s);
    EXPECT_EQ(t.on_timeout(c.now).what, action::kind::none) << "no retransmit after ERROR (T3)";
    EXPECT_EQ(t.on_ack(1, c.now).what, action::kind::none);
}

TEST(transfer, window_of_eight) {
    fake_clock c;
    transfer t(params(20 * 512 + 5, 512, 8), c.now);
    auto a = t.start(c.now);
    EXPECT_EQ(a.first, 1u);
    EXPECT_EQ(a.count, 8u);
    a = t.on_ack(8, c.now);
    EXPECT_EQ(a.first, 9u);
    EXPECT_EQ(a.count, 8u);
    // The client lost block 12: it ACKs 11 and we resume from 12 (RFC 7440).
    a = t.on_ack(11, c.now);
    EXPECT_EQ(a.first, 12u);
    EXPECT_EQ(a.count, 8u);
    a = t.on_ack(19, c.now);
    EXPECT_EQ(a.first, 20u);
    EXPECT_EQ(a.count, 2u) << "21 blocks in all";
    EXPECT_EQ(t.on_ack(21, c.now).what, action::kind::done);
}

TEST(transfer, window_timeout_resends_whole_window) {
    fake_clock c;
    transfer t(params(20 * 512, 512, 4), c.now);
    t.start(c.now);
    c.advance(1000ms);
    auto a = t.on_timeout(c.now);
    EXPECT_EQ(a.first, 1u);
    EXPECT_EQ(a.count, 4u);
    EXPECT_EQ(t.retransmits(), 4u);
}

TEST(transfer, block_number_wraps_to_zero) {
    fake_clock c;
    // 70,000 blocks of 8 bytes: the wire block after 65535 is 0 (spec T6).
    transfer t(params(70000ull * 8 - 1, 8, 1), c.now);
    t.start(c.now);
    for (std::uint64_t b = 1; b < 65535; ++b)
        ASSERT_EQ(t.on_ack(transfer::wire_block(b), c.now).first, b + 1);
    auto a = t.on_ack(65535, c.now);
    EXPECT_EQ(a.first, 65536u);
    EXPECT_EQ(transfer::wire_block(a.first), 0);
    EXPECT_EQ(t.on_ack(65535, c.now).what, action::kind::none) << "duplicate across the wrap";
    a = t.on_ack(0, c.now);
    EXPECT_EQ(a.first, 65537u);
    EXPECT_EQ(transfer::wire_block(a.first), 1);
    for (std::uint64_t b = 65537; b < 70000; ++b)
        ASSERT_EQ(t.on_ack(transfer::wire_block(b), c.now).what, action::kind::send) << b;
    EXPECT_EQ(t.on_ack(transfer::wire_block(70000), c.now).what, action::kind::done);
    EXPECT_EQ(t.bytes_acked(), 70000ull * 8 - 1);
}

TEST(transfer, window_straddling_the_wrap) {
    fake_clock c;
    transfer t(params(70000ull * 512, 512, 8), c.now);
    t.start(c.now);
    std::uint64_t next = 1;
    while (next < 65530) {
        auto a = t.on_ack(transfer::wire_block(next + 7), c.now);
        next = a.first;
    }
    // Window now holds blocks crossing 65535 -> 0; an ACK for wire block 2 is absolute 65538.
    auto a = t.on_ack(transfer::wire_block(next + 7), c.now);
    EXPECT_EQ(a.first, next + 8);
}

} // namespace
} // namespace netbootd::tftp
