#include "netbootd/diag/sniffer.hpp"

#include <thread>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <tins/tins.h>
#include <unistd.h>

#include "netbootd/diag/tracker.hpp"

namespace netbootd::diag {
namespace {

registry_ptr lab(const char* server, const char* subnet, const char* node_ip) {
    auto text = std::string("cluster:\n  interface: eth0\n  server_ip: ") + server +
                "\n  subnet: " + subnet +
                "\nnodes:\n  - {position: 2, mac: \"dc:a6:32:00:00:02\", ip: " + node_ip + "}\n";
    return std::make_shared<const registry>(parse_config(text, "sniff.yaml"));
}

std::vector<std::uint8_t> dhcp_reply(const char* server_id, const char* src_ip) {
    Tins::DHCP d;
    d.opcode(Tins::BootP::BOOTREPLY);
    d.type(Tins::DHCP::OFFER);
    d.server_identifier(server_id);
    d.chaddr(Tins::HWAddress<6>("dc:a6:32:00:00:02"));
    d.yiaddr("10.42.0.77");
    d.end();
    auto pkt = Tins::EthernetII("ff:ff:ff:ff:ff:ff", "00:11:22:33:44:55") /
               Tins::IP("255.255.255.255", src_ip) / Tins::UDP(68, 67) / d;
    return pkt.serialize();
}

TEST(sniffer, foreign_dhcp_reply) {
    auto reg = lab("10.42.0.1", "10.42.0.0/24", "10.42.0.2");
    auto e = classify_frame(dhcp_reply("10.42.0.254", "10.42.0.254"),
                            *ipv4_address::parse("10.42.0.1"), *reg);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, "dhcp.foreign_server");
    EXPECT_EQ(e->source, "sniffer");
    EXPECT_EQ(e->position, 2);
    EXPECT_EQ(e->mac->to_string(), "dc:a6:32:00:00:02");
    EXPECT_EQ(e->fields["server"], "10.42.0.254");
    EXPECT_EQ(e->fields["server_mac"], "00:11:22:33:44:55");
    EXPECT_EQ(e->fields["yiaddr"], "10.42.0.77");
    EXPECT_EQ(e->fields["message"], "offer");
}

TEST(sniffer, own_dhcp_reply_is_ignored) {
    auto reg = lab("10.42.0.1", "10.42.0.0/24", "10.42.0.2");
    EXPECT_FALSE(classify_frame(dhcp_reply("10.42.0.1", "10.42.0.1"),
                                *ipv4_address::parse("10.42.0.1"), *reg));
}

TEST(sniffer, nfs_from_node_address) {
    auto reg = lab("10.42.0.1", "10.42.0.0/24", "10.42.0.2");
    const auto server = *ipv4_address::parse("10.42.0.1");
    Tins::TCP syn(2049, 812);
    syn.set_flag(Tins::TCP::SYN, 1);
    auto tcp = (Tins::EthernetII() / Tins::IP("10.42.0.1", "10.42.0.2") / syn).serialize();
    auto e = classify_frame(tcp, server, *reg);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, "nfs.mount");
    EXPECT_EQ(e->position, 2);
    EXPECT_EQ(e->fields["proto"], "tcp");
    // A SYN-ACK or data segment is not a new mount; another host's traffic is not a node's.
    Tins::TCP ack(2049, 812);
    ack.set_flag(Tins::TCP::ACK, 1);
    EXPECT_FALSE(classify_frame(
        (Tins::EthernetII() / Tins::IP("10.42.0.1", "10.42.0.2") / ack).serialize(), server, *reg));
    EXPECT_FALSE(
        classify_frame((Tins::EthernetII() / Tins::IP("10.42.0.1", "10.42.0.99") / syn).serialize(),
                       server, *reg));
    auto udp = (Tins::EthernetII() / Tins::IP("10.42.0.1", "10.42.0.2") / Tins::UDP(2049, 900) /
                Tins::RawPDU("x"))
                   .serialize();
    auto u = classify_frame(udp, server, *reg);
    ASSERT_TRUE(u);
    EXPECT_EQ(u->fields["proto"], "udp");
}

TEST(sniffer, garbage_is_not_an_event) {
    auto reg = lab("10.42.0.1", "10.42.0.0/24", "10.42.0.2");
    const auto server = *ipv4_address::parse("10.42.0.1");
    auto good = dhcp_reply("10.42.0.254", "10.42.0.254");
    for (std::size_t n = 0; n < good.size(); n += 7) {
        std::vector<std::uint8_t> cut(good.begin(), good.begin() + static_cast<long>(n));
        (void)classify_frame(cut, server, *reg); // must not throw or crash
    }
    std::vector<std::uint8_t> junk(300, 0xff);
    EXPECT_FALSE(classify_frame(junk, server, *reg));
    EXPECT_FALSE(classify_frame({}, server, *reg));
}

// Live capture on the loopback of a private network namespace (a forked child, so nothing
// outside the test sees it): NFS from the node's address and a foreign DHCP reply are seen.
TEST(sniffer, live_capture_in_private_netns) {
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root (CAP_NET_ADMIN for the namespace, CAP_NET_RAW to capture)";
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (::unshare(CLONE_NEWNET) != 0 || std::system("ip link set lo up") != 0)
            ::_exit(10);
        registry_holder reg(lab("127.0.0.5", "127.0.0.0/24", "127.0.0.2"));
        event_bus bus;
        tracker t(bus, reg);
        sniffer s(bus, reg, "lo", *ipv4_address::parse("127.0.0.5"));
        try {
            s.start();
        } catch (const std::exception&) {
            ::_exit(11);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        auto send_from = [](const char* src, int sport, int dport, const void* data,
                            std::size_t len) {
            int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(static_cast<std::uint16_t>(sport));
            ::inet_pton(AF_INET, src, &a.sin_addr);
            if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
                return false;
            sockaddr_in d{};
            d.sin_family = AF_INET;
            d.sin_port = htons(static_cast<std::uint16_t>(dport));
            ::inet_pton(AF_INET, "127.0.0.1", &d.sin_addr);
            auto n = ::sendto(fd, data, len, 0, reinterpret_cast<sockaddr*>(&d), sizeof d);
            ::close(fd);
            return n == static_cast<ssize_t>(len);
        };
        Tins::DHCP d;
        d.opcode(Tins::BootP::BOOTREPLY);
        d.type(Tins::DHCP::OFFER);
        d.server_identifier("127.0.0.9");
        d.chaddr(Tins::HWAddress<6>("dc:a6:32:00:00:02"));
        d.end();
        auto payload = d.serialize();
        if (!send_from("127.0.0.2", 900, 2049, "nfs", 3) ||
            !send_from("127.0.0.2", 901, 2049, "nfs", 3) ||
            !send_from("127.0.0.9", 67, 68, payload.data(), payload.size()))
            ::_exit(12);
        for (int i = 0; i < 50; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            if (t.state(2).current == stage::nfs_root &&
                bus.recent({std::nullopt, "dhcp.foreign_server", 0}, 10).size() == 1)
                break;
        }
        s.stop();
        if (t.state(2).current != stage::nfs_root)
            ::_exit(13);
        // Two NFS datagrams, one report (rate-limited per node).
        if (bus.recent({std::nullopt, "nfs.mount", 0}, 10).size() != 1)
            ::_exit(14);
        auto f = bus.recent({std::nullopt, "dhcp.foreign_server", 0}, 10);
        if (f.size() != 1 || f[0].fields["server"] != "127.0.0.9" || f[0].position != 2)
            ::_exit(15);
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0)
        << "10 netns, 11 capture open, 12 send, 13 no nfs-root, 14 nfs count, 15 foreign server";
}

} // namespace
} // namespace netbootd::diag
