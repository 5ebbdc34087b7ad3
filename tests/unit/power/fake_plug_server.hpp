// A small HTTP server on 127.0.0.1 (ephemeral port) that answers like the smart plugs the http
// driver talks to: Tasmota (/cm?cmnd=Power...), Shelly Gen1 (/relay/0?turn=...) and a Homematic
// CCU's XML-RPC setValue/getValue of STATE. It records every request for the tests. One
// thread, one connection at a time, bounded by the test's lifetime.
#pragma once

// Asio 1.74 trips GCC 12's -Wnull-dereference once inlined (false positive inside Boost).
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <atomic>
#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace netbootd::power::testing {

struct recorded_request {
    std::string method;
    std::string target;
    std::string body;
    std::string content_type;
    std::string authorization;
};

class fake_plug_server {
  public:
    /// When `broken`, every request gets "500 Internal Server Error".
    explicit fake_plug_server(bool broken = false) : broken_(broken) {
        namespace asio = boost::asio;
        acceptor_.open(asio::ip::tcp::v4());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
        acceptor_.listen();
        port_ = acceptor_.local_endpoint().port();
        thread_ = std::thread([this] { serve(); });
    }
    ~fake_plug_server() {
        stop_ = true;
        // Wake the blocking accept with one connection of our own.
        try {
            boost::asio::ip::tcp::socket s(io_);
            s.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
        } catch (...) {
        }
        thread_.join();
    }
    fake_plug_server(const fake_plug_server&) = delete;
    fake_plug_server& operator=(const fake_plug_server&) = delete;

    std::uint16_t port() const { return port_; }
    std::vector<recorded_request> requests() const {
        std::lock_guard lock(mu_);
        return requests_;
    }
    bool state(const std::string& key) const {
        std::lock_guard lock(mu_);
        auto it = state_.find(key);
        return it != state_.end() && it->second;
    }

  private:
    void serve() {
        namespace beast = boost::beast;
        namespace http = beast::http;
        while (!stop_) {
            try {
                boost::asio::ip::tcp::socket sock(io_);
                acceptor_.accept(sock);
                if (stop_)
                    return;
                beast::flat_buffer buf;
                http::request<http::string_body> req;
                http::read(sock, buf, req);
                http::response<http::string_body> res;
                res.version(11);
                res.set(http::field::connection, "close");
                answer(req, res);
                res.prepare_payload();
                http::write(sock, res);
                beast::error_code ec;
                sock.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
            } catch (const std::exception&) {
                // A client that went away; keep serving.
            }
        }
    }

    void answer(const boost::beast::http::request<boost::beast::http::string_body>& req,
                boost::beast::http::response<boost::beast::http::string_body>& res) {
        namespace http = boost::beast::http;
        std::lock_guard lock(mu_);
        requests_.push_back({std::string(req.method_string()), std::string(req.target()),
                             req.body(), std::string(req[http::field::content_type]),
                             std::string(req[http::field::authorization])});
        res.result(http::status::ok);
        if (broken_) {
            res.result(http::status::internal_server_error);
            res.body() = "relay fault";
            return;
        }
        const std::string target(req.target());
        auto json_state = [&](const std::string& key) { return state_[key] ? "ON" : "OFF"; };
        if (target == "/cm?cmnd=Power%20On") {
            state_["tasmota"] = true;
            res.body() = R"({"POWER":"ON"})";
        } else if (target == "/cm?cmnd=Power%20Off") {
            state_["tasmota"] = false;
            res.body() = R"({"POWER":"OFF"})";
        } else if (target == "/cm?cmnd=Power") {
            res.body() = std::string(R"({"POWER":")") + json_state("tasmota") + "\"}";
        } else if (target.rfind("/cm?", 0) == 0) {
            res.body() = R"({"Command":"Unknown"})";
        } else if (target == "/relay/0?turn=on" || target == "/relay/0?turn=off" ||
                   target == "/relay/0") {
            if (target != "/relay/0")
                state_["shelly"] = target.back() == 'n';
            res.body() = std::string(R"({"ison": )") + (state_["shelly"] ? "true" : "false") +
                         R"(, "has_timer": false, "source": "http"})";
        } else if (req.method() == http::verb::post && target == "/") {
            answer_xmlrpc(req.body(), res);
        } else {
            res.result(http::status::not_found);
            res.body() = "not found";
        }
    }

    void answer_xmlrpc(const std::string& body,
                       boost::beast::http::response<boost::beast::http::string_body>& res) {
        static const std::regex method_re("<methodName>([A-Za-z]+)</methodName>");
        static const std::regex strings_re("<string>([^<]*)</string>");
        static const std::regex bool_re("<boolean>([01])</boolean>");
        std::smatch m;
        std::string method;
        if (std::regex_search(body, m, method_re))
            method = m[1];
        std::vector<std::string> strings;
        for (auto it = std::sregex_iterator(body.begin(), body.end(), strings_re);
             it != std::sregex_iterator(); ++it)
            strings.push_back((*it)[1]);
        auto fault = [&](const std::string& text) {
            res.body() =
                "<?xml "
                "version=\"1.0\"?><methodResponse><fault><value><struct><member><name>faultString"
                "</name><value><string>" +
                text + "</string></value></member></struct></value></fault></methodResponse>";
        };
        // A CCU knows its devices by address "SERIAL:CHANNEL"; anything else is a fault.
        if (strings.size() != 2 || strings[1] != "STATE" ||
            strings[0].find(':') == std::string::npos)
            return fault("Unknown instance");
        const std::string key = "hm:" + strings[0];
        if (method == "setValue") {
            if (!std::regex_search(body, m, bool_re))
                return fault("bad value");
            state_[key] = m[1] == "1";
            res.body() =
                "<?xml "
                "version=\"1.0\"?><methodResponse><params><param><value></value></param></params>"
                "</methodResponse>";
        } else if (method == "getValue") {
            res.body() =
                std::string(
                    "<?xml version=\"1.0\"?><methodResponse><params><param><value><boolean>") +
                (state_[key] ? "1" : "0") + "</boolean></value></param></params></methodResponse>";
        } else {
            fault("Unknown method");
        }
    }

    bool broken_;
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_{io_};
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    mutable std::mutex mu_;
    std::vector<recorded_request> requests_;
    std::map<std::string, bool> state_;
};

} // namespace netbootd::power::testing
