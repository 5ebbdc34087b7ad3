// The emulator's TFTP client against a scripted server on loopback (no namespaces needed).
#include "hex.hpp"
#include "netbootd/core/sha256.hpp"
#include "netbootd/emu/tftp_client.hpp"
#include "netbootd/emu/tftp_packet.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace netbootd::emu {
namespace {

using namespace std::chrono_literals;

struct server_script {
    bytes file; // served content
    bool exists = true;
    bool apprentice = false;   // buggy: answers a duplicate ACK with the next block again
    bool ignore_error = false; // buggy: keeps retransmitting after the client's ERROR
    std::chrono::milliseconds retransmit{300};
};

struct server_log {
    std::string rrq_file;
    tftp_options rrq_options;
    bytes last_from_client; // e.g. the Early terminate
    int blocks_sent = 0;
};

// One-transfer TFTP server on 127.0.0.1; every wait bounded (2 s).
class fake_server {
  public:
    explicit fake_server(server_script s) : script_(std::move(s)) {
        fd_ = open_socket(0);
        thread_ = std::thread([this] { run(); });
    }
    ~fake_server() {
        if (thread_.joinable())
            thread_.join();
        ::close(fd_);
    }
    std::uint16_t port() const { return port_of(fd_); }
    const server_log& log() {
        if (thread_.joinable())
            thread_.join();
        return log_;
    }

  private:
    static int open_socket(std::uint16_t port) {
        const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        return fd;
    }
    static std::uint16_t port_of(int fd) {
        sockaddr_in a{};
        socklen_t l = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
        return ntohs(a.sin_port);
    }
    static std::optional<bytes> recv_from(int fd, sockaddr_in& from, std::chrono::milliseconds t) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(t.count())) <= 0)
            return std::nullopt;
        bytes b(70000);
        socklen_t l = sizeof from;
        const ssize_t n =
            ::recvfrom(fd, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&from), &l);
        if (n < 0)
            return std::nullopt;
        b.resize(static_cast<std::size_t>(n));
        return b;
    }

    void run() {
        sockaddr_in client{};
        auto rrq = recv_from(fd_, client, 2000ms);
        if (!rrq)
            return;
        // RRQ: 00 01 file 00 mode 00 [name 00 value 00]...
        std::vector<std::string> parts;
        std::string cur;
        for (std::size_t i = 2; i < rrq->size(); ++i) {
            if ((*rrq)[i] == 0) {
                parts.push_back(cur);
                cur.clear();
            } else {
                cur.push_back(static_cast<char>((*rrq)[i]));
            }
        }
        log_.rrq_file = parts.empty() ? "" : parts[0];
        for (std::size_t i = 2; i + 1 < parts.size(); i += 2)
            log_.rrq_options.emplace_back(parts[i], parts[i + 1]);
        const int tid = open_socket(0);
        auto send = [&](const bytes& b) {
            ::sendto(tid, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&client),
                     sizeof client);
        };
        if (!script_.exists) {
            send(build_error(1, "File not found"));
            ::close(tid);
            return;
        }
        std::size_t blksize = 512;
        bytes oack;
        put_u16(oack, 6);
        for (const auto& [n, v] : log_.rrq_options) {
            if (n == "blksize")
                blksize = std::stoul(v);
            put_text(oack, n);
            oack.push_back(0);
            put_text(oack, n == "tsize" ? std::to_string(script_.file.size()) : v);
            oack.push_back(0);
        }
        auto data_block = [&](std::uint32_t n) {
            const std::size_t at = (n - 1) * blksize;
            const std::size_t len =
                at >= script_.file.size() ? 0 : std::min(blksize, script_.file.size() - at);
            bytes d;
            d.push_back(0);
            d.push_back(3);
            d.push_back(static_cast<std::uint8_t>((n >> 8) & 0xff));
            d.push_back(static_cast<std::uint8_t>(n & 0xff));
            for (std::size_t i = 0; i < len; ++i)
                d.push_back(script_.file[at + i]);
            return d;
        };
        const std::uint32_t last = static_cast<std::uint32_t>(script_.file.size() / blksize + 1);
        bytes current = log_.rrq_options.empty() ? data_block(1) : oack;
        std::uint32_t sent = log_.rrq_options.empty() ? 1 : 0; // block number of `current`
        send(current);
        for (int rounds = 0; rounds < 2000000; ++rounds) {
            sockaddr_in from{};
            auto in = recv_from(tid, from, script_.retransmit);
            if (!in) {
                if (rounds > 0 && sent == last)
                    break;     // T9: the final ACK may be lost; end quietly
                send(current); // timeout: retransmit
                if (++timeouts_ > 10)
                    break;
                continue;
            }
            if (in->size() >= 2 && get_u16(*in, 0) == 5) {
                log_.last_from_client = *in;
                if (script_.ignore_error)
                    continue;
                break;
            }
            if (in->size() < 4 || get_u16(*in, 0) != 4)
                continue;
            const std::uint16_t acked = get_u16(*in, 2);
            if (acked == static_cast<std::uint16_t>(sent)) {
                if (sent == last)
                    break;
                ++sent;
                current = data_block(sent);
                ++log_.blocks_sent;
                send(current);
            } else if (script_.apprentice && acked == static_cast<std::uint16_t>(sent - 1)) {
                send(current); // the Sorcerer's Apprentice bug
            }
        }
        ::close(tid);
    }

    server_script script_;
    server_log log_;
    int fd_ = -1;
    int timeouts_ = 0;
    std::thread thread_;
};

bytes random_bytes(std::size_t n) {
    bytes b(n);
    std::uint32_t x = 12345;
    for (auto& c : b) {
        x = x * 1103515245 + 12345;
        c = static_cast<std::uint8_t>(x >> 16);
    }
    return b;
}

std::string sha(const bytes& b) {
    sha256 h;
    h.update(b);
    return h.hex_digest();
}

tftp_settings settings(std::uint16_t port) {
    tftp_settings s;
    s.server = ipv4_address{0x7f000001};
    s.server_port = port;
    s.rrq_retransmit = 500ms;
    s.ack_retransmit = 500ms;
    s.file_timeout = 20s;
    return s;
}

const auto far = [] { return clock_type::now() + 30s; };

TEST(tftp_client, probe_ends_with_early_terminate) {
    fake_server srv({random_bytes(5000)});
    auto s = settings(srv.port());
    s.blksize = 1024;
    auto t = tftp_transfer::start(s, "6aee7243/start4.elf", 0);
    ASSERT_TRUE(t) << t.error();
    ASSERT_TRUE((*t)->until_first_data(far()));
    (*t)->abort_early();
    const auto& r = (*t)->result();
    EXPECT_EQ(r.outcome, file_outcome::probed);
    EXPECT_EQ(r.bytes, 5000u) << "tsize from the OACK";
    EXPECT_EQ(r.blksize, 1024);
    const auto& log = srv.log();
    EXPECT_EQ(log.rrq_file, "6aee7243/start4.elf");
    EXPECT_EQ(log.rrq_options, (tftp_options{{"tsize", "0"}, {"blksize", "1024"}}));
    EXPECT_EQ(log.last_from_client, early_terminate());
}

TEST(tftp_client, fetch_with_options) {
    const bytes file = random_bytes(10 * 1024 + 17);
    fake_server srv({file});
    auto s = settings(srv.port());
    s.blksize = 1024;
    auto t = tftp_transfer::start(s, "kernel8.img", 0);
    ASSERT_TRUE(t);
    ASSERT_TRUE((*t)->until_first_data(far()));
    (*t)->run_to_end(far());
    const auto& r = (*t)->result();
    EXPECT_EQ(r.outcome, file_outcome::fetched) << r.detail;
    EXPECT_EQ(r.bytes, file.size());
    EXPECT_EQ(r.tsize, file.size());
    EXPECT_EQ(r.sha256, sha(file));
    EXPECT_EQ(r.duplicates, 0);
}

TEST(tftp_client, rom_fetch_without_options_and_exact_multiple_of_512) {
    const bytes file = random_bytes(1024); // ends with an empty DATA 3
    fake_server srv({file});
    auto s = settings(srv.port());
    s.send_tsize = false;
    auto t = tftp_transfer::start(s, "bootcode.bin", 0);
    ASSERT_TRUE(t);
    ASSERT_TRUE((*t)->until_first_data(far()));
    (*t)->run_to_end(far());
    EXPECT_EQ((*t)->result().outcome, file_outcome::fetched);
    EXPECT_FALSE((*t)->result().oack);
    EXPECT_EQ((*t)->result().sha256, sha(file));
    EXPECT_TRUE(srv.log().rrq_options.empty());
}

TEST(tftp_client, missing_file_is_not_found) {
    fake_server srv({{}, false});
    auto t = tftp_transfer::start(settings(srv.port()), "bootsig.bin", 0);
    ASSERT_TRUE(t);
    EXPECT_FALSE((*t)->until_first_data(far()));
    EXPECT_EQ((*t)->result().outcome, file_outcome::not_found);
    EXPECT_EQ((*t)->result().error_code, 1);
}

TEST(tftp_client, block_numbers_wrap_to_zero) {
    const bytes file = random_bytes(65536 * 8 + 3); // 65537 blocks of 8 bytes
    fake_server srv({file});
    auto s = settings(srv.port());
    s.blksize = 8;
    auto t = tftp_transfer::start(s, "big.img", 0);
    ASSERT_TRUE(t);
    ASSERT_TRUE((*t)->until_first_data(far()));
    (*t)->run_to_end(far());
    EXPECT_EQ((*t)->result().outcome, file_outcome::fetched) << (*t)->result().detail;
    EXPECT_EQ((*t)->result().sha256, sha(file));
}

TEST(tftp_client, withheld_ack_needs_a_server_retransmit) {
    const bytes file = random_bytes(20 * 512);
    fake_server srv({file});
    auto s = settings(srv.port());
    s.drop_ack_block = 4;
    s.server_retransmit_wait = 3s;
    auto t = tftp_transfer::start(s, "k", 0);
    ASSERT_TRUE(t);
    ASSERT_TRUE((*t)->until_first_data(far()));
    (*t)->run_to_end(far());
    const auto& r = (*t)->result();
    EXPECT_EQ(r.outcome, file_outcome::fetched);
    EXPECT_TRUE(r.ack_dropped);
    EXPECT_TRUE(r.server_retransmitted);
    EXPECT_EQ(r.sha256, sha(file));
}

TEST(tftp_client, duplicate_ack_exposes_the_sorcerers_apprentice) {
    for (const bool buggy : {false, true}) {
        const bytes file = random_bytes(20 * 512);
        server_script script{file};
        script.apprentice = buggy;
        fake_server srv(script);
        auto s = settings(srv.port());
        s.dup_ack_block = 5;
        auto t = tftp_transfer::start(s, "k", 0);
        ASSERT_TRUE(t);
        ASSERT_TRUE((*t)->until_first_data(far()));
        (*t)->run_to_end(far());
        const auto& r = (*t)->result();
        EXPECT_EQ(r.outcome, file_outcome::fetched);
        EXPECT_TRUE(r.ack_duplicated);
        if (buggy)
            EXPECT_GT(r.duplicates, 0) << "a server that resends on a duplicate ACK is caught";
        else
            EXPECT_EQ(r.duplicates, 0);
    }
}

TEST(tftp_client, retransmission_after_early_terminate_is_seen) {
    for (const bool buggy : {false, true}) {
        server_script script{random_bytes(3000)};
        script.ignore_error = buggy;
        script.retransmit = 200ms;
        fake_server srv(script);
        auto s = settings(srv.port());
        s.blksize = 1024;
        auto t = tftp_transfer::start(s, "start4.elf", 0);
        ASSERT_TRUE(t);
        ASSERT_TRUE((*t)->until_first_data(far()));
        (*t)->abort_early();
        std::this_thread::sleep_for(900ms);
        const int late = (*t)->late_packets(100ms);
        if (buggy)
            EXPECT_GT(late, 0) << "DATA 1 resent after Early terminate";
        else
            EXPECT_EQ(late, 0);
    }
}

TEST(tftp_client, silent_server_times_out_bounded) {
    // A bound socket that never answers.
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t l = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
    auto s = settings(ntohs(a.sin_port));
    s.rrq_retransmit = 100ms;
    s.max_retransmits = 3;
    const auto start = clock_type::now();
    auto t = tftp_transfer::start(s, "x", 0);
    ASSERT_TRUE(t);
    EXPECT_FALSE((*t)->until_first_data(far()));
    EXPECT_EQ((*t)->result().outcome, file_outcome::failed);
    EXPECT_EQ((*t)->result().retransmits, 3);
    EXPECT_LT(clock_type::now() - start, 5s);
    ::close(fd);
}

} // namespace
} // namespace netbootd::emu
