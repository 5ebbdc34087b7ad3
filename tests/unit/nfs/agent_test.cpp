#include "netbootd/nfs/agent.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

using namespace netbootd::nfs;

namespace {

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

TEST(nfs_agent, roots_get_the_agent_from_agents_exactly_and_enabled) {
    const auto files = agent_files();
    ASSERT_EQ(files.size(), 3u);
    const std::filesystem::path src = NETBOOTD_SOURCE_DIR;
    EXPECT_EQ(files[0].path, "usr/local/sbin/netbootd-agent");
    EXPECT_EQ(files[0].content, slurp(src / "agents/netbootd-agent"))
        << "the embedded script is the one in agents/ (re-run cmake after editing it)";
    EXPECT_EQ(files[0].mode, fs::perms(0755));
    EXPECT_EQ(files[1].path, "etc/systemd/system/netbootd-agent.service");
    EXPECT_EQ(files[1].content, slurp(src / "agents/netbootd-agent.service"));
    EXPECT_NE(files[1].content.find("WantedBy=multi-user.target"), std::string::npos);
    EXPECT_EQ(files[2].path, "etc/systemd/system/multi-user.target.wants/netbootd-agent.service");
    EXPECT_EQ(files[2].link_target, "../netbootd-agent.service");
}
