#include "netbootd/core/atomic_file.hpp"

#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include <gtest/gtest.h>

using namespace netbootd;
namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
} // namespace

TEST(atomic_file, replaces_content_and_leaves_no_temporaries) {
    auto dir = fs::temp_directory_path() / ("nb-atomic-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto f = dir / "leases";
    ASSERT_FALSE(write_file_atomic(f, "one\n"));
    ASSERT_FALSE(write_file_atomic(f, "two\n", fs::perms(0600)));
    EXPECT_EQ(slurp(f), "two\n");
    struct stat st {};
    ASSERT_EQ(::stat(f.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    int entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir))
        ++entries;
    EXPECT_EQ(entries, 1);
    fs::remove_all(dir);
}

TEST(atomic_file, failure_names_the_error_and_keeps_the_old_file) {
    auto ec = write_file_atomic("/nonexistent-dir/x", "data");
    EXPECT_TRUE(ec);
    EXPECT_EQ(ec.value(), ENOENT);
}
