#include "netbootd/core/range.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace netbootd;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(range, zero_padded_numbers) {
    auto r = expand_pattern("node[01-03]");
    ASSERT_TRUE(r);
    EXPECT_THAT(*r, ElementsAre("node01", "node02", "node03"));
    auto all = expand_pattern("node[01-60]");
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 60u);
    EXPECT_EQ(all->back(), "node60");
}

TEST(range, cloudmesh_burn_examples) {
    // The examples cms burn documents: red00[1-2], red[a-c], 10.1.1.[1-3].
    EXPECT_THAT(*expand_pattern("red00[1-2]"), ElementsAre("red001", "red002"));
    EXPECT_THAT(*expand_pattern("red[a-c]"), ElementsAre("reda", "redb", "redc"));
    EXPECT_THAT(*expand_pattern("10.1.1.[1-3]"), ElementsAre("10.1.1.1", "10.1.1.2", "10.1.1.3"));
}

TEST(range, lists_products_and_plain_text) {
    EXPECT_THAT(*expand_pattern("n[1,3,5-6]"), ElementsAre("n1", "n3", "n5", "n6"));
    EXPECT_THAT(*expand_pattern("r[1-2]n[a-b]"), ElementsAre("r1na", "r1nb", "r2na", "r2nb"));
    EXPECT_THAT(*expand_pattern("builder"), ElementsAre("builder"));
}

TEST(range, unpadded_ranges_cross_digit_counts) {
    auto r = expand_pattern("10.42.0.[8-11]");
    EXPECT_THAT(*r, ElementsAre("10.42.0.8", "10.42.0.9", "10.42.0.10", "10.42.0.11"));
}

struct bad_pattern {
    const char* expr;
    const char* message;
};

class range_errors : public ::testing::TestWithParam<bad_pattern> {};

TEST_P(range_errors, are_explained) {
    auto r = expand_pattern(GetParam().expr);
    ASSERT_FALSE(r) << GetParam().expr;
    EXPECT_THAT(r.error(), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    table, range_errors,
    ::testing::Values(bad_pattern{"node[60-01]", "runs backwards (write 01-60)"},
                      bad_pattern{"node[01-60", "unterminated '[' at column 5"},
                      bad_pattern{"node01-60]", "unmatched ']' at column 10"},
                      bad_pattern{"node[]", "empty brackets"},
                      bad_pattern{"node[a-5]", "bad range 'a-5'"},
                      bad_pattern{"node[1-,3]", "bad range '1-'"},
                      bad_pattern{"n[1-999999999]", "too large"},
                      bad_pattern{"n[1-1000]m[1-1000]", "more than 100000"},
                      bad_pattern{"n[c-a]", "runs backwards"},
                      bad_pattern{"n[[1-2]]", "nested '['"}, bad_pattern{"", "empty expression"}));

TEST(positions, list_and_ranges) {
    EXPECT_THAT(*parse_positions("1-5,62"), ElementsAre(1, 2, 3, 4, 5, 62));
    EXPECT_THAT(*parse_positions("3,1,2,3"), ElementsAre(1, 2, 3));
    EXPECT_EQ(parse_positions("1-60")->size(), 60u);
}

TEST(positions, errors) {
    EXPECT_THAT(parse_positions("0").error(), HasSubstr("positions start at 1"));
    EXPECT_THAT(parse_positions("5-1").error(), HasSubstr("runs backwards"));
    EXPECT_THAT(parse_positions("1-x").error(), HasSubstr("not a position range"));
    EXPECT_THAT(parse_positions("70", 60).error(), HasSubstr("past the last position 60"));
    EXPECT_THAT(parse_positions("").error(), HasSubstr("empty"));
}

TEST(split_top_level, ignores_commas_in_brackets) {
    auto parts = split_top_level("node[01-03,07],10.42.0.5");
    EXPECT_THAT(parts, ElementsAre("node[01-03,07]", "10.42.0.5"));
}
