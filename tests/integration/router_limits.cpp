// The daemon under a caller that holds resources and gives nothing back, and under a NATS outage
// that outlasts its reconnect budget: HTTP connection limits and idle timeouts come from the
// configuration and never cost the probes, and a router that gives up on NATS says so and exits.
#include "router_setup.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <poll.h>
#include <string>
#include <vector>

using namespace beamline::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace
{

const char* openai_only = R"({"version":"1",
  "providers":[{"name":"openai","weight":1,"expected_latency_ms":250,"cost":0.002}]})";

/// A TCP connection to the daemon's HTTP port that never sends a byte.
class silent_connection
{
public:
    explicit silent_connection(std::uint16_t port)
    {
        socket_.connect(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port));
    }

    /// Waits up to `limit` for the server to close the connection (end of stream or reset).
    bool closed_by_server(std::chrono::milliseconds limit)
    {
        pollfd p{socket_.native_handle(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
        char byte = 0;
        boost::system::error_code ec;
        socket_.read_some(asio::buffer(&byte, 1), ec);
        return ec == asio::error::eof || ec == asio::error::connection_reset;
    }

private:
    asio::io_context ioc_;
    asio::ip::tcp::socket socket_{ioc_};
};

struct limits_fixture : router_setup
{
    explicit limits_fixture(const env_list& extra_env)
        : router_setup(nats_server_options{.tls = tls_mode::mutual},
                       [](const policy_dir& dir) { dir.write("acme", "default", openai_only); }, extra_env)
    {
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(router_limits)

BOOST_AUTO_TEST_CASE(probes_answer_while_idle_connections_fill_the_connection_limit)
{
    constexpr int limit = 16;
    limits_fixture f({{"BEAMLINE_HTTP_MAX_CONNECTIONS", std::to_string(limit)},
                      {"BEAMLINE_HTTP_IDLE_TIMEOUT_MS", "600000"}});
    std::vector<std::unique_ptr<silent_connection>> silent;
    for (int i = 0; i < limit; ++i)
        silent.push_back(std::make_unique<silent_connection>(f.router->http_port()));
    // Each probe is a new connection, so every one of them needs a slot an idle connection held.
    for (int i = 0; i < limit; ++i)
    {
        BOOST_TEST(f.router->http_get("/livez").status == 200);
        BOOST_TEST(f.router->http_get("/healthz").status == 200);
    }
    // The first probe found every slot held by a silent connection and took the slot of the one
    // that had waited longest (later probes may find the slot a finished probe left).
    BOOST_TEST(eventually(
        [&]
        {
            for (auto& c : silent)
                if (c->closed_by_server(0ms)) return true;
            return false;
        },
        10s));
}

BOOST_AUTO_TEST_CASE(idle_connections_are_closed_after_the_configured_idle_timeout)
{
    limits_fixture f(env_list{{"BEAMLINE_HTTP_IDLE_TIMEOUT_MS", "300"}});
    std::vector<std::unique_ptr<silent_connection>> silent;
    for (int i = 0; i < 4; ++i)
        silent.push_back(std::make_unique<silent_connection>(f.router->http_port()));
    // A bound far above the 300 ms configured (the default would hold them for seconds more), not
    // a claim about the moment they close.
    for (auto& c : silent)
        BOOST_TEST(c->closed_by_server(15s));
    BOOST_TEST(f.router->http_get("/livez").status == 200);
}

BOOST_AUTO_TEST_CASE(a_spent_reconnect_budget_is_logged_at_error_and_exits_non_zero)
{
    limits_fixture f({{"BEAMLINE_NATS_MAX_RECONNECT", "2"}, {"BEAMLINE_NATS_RECONNECT_WAIT_MS", "100"}});
    f.caller.reset();
    f.server.stop();
    auto code = f.router->wait_exit(60s);
    BOOST_TEST_INFO("daemon log:\n" << f.router->log());
    BOOST_TEST_REQUIRE(code.has_value(), "the daemon did not exit within 60 s of losing NATS for good");
    BOOST_TEST(*code == 69); // EX_UNAVAILABLE
    const auto log = f.router->log();
    const auto at = log.find("giving up on NATS");
    BOOST_TEST_REQUIRE(at != std::string::npos);
    const auto line_start = log.rfind('\n', at) + 1; // npos + 1 == 0 on the first line
    const auto line = log.substr(line_start, log.find('\n', at) - line_start);
    BOOST_TEST(line.find(R"("level":"error")") != std::string::npos, line);
}

BOOST_AUTO_TEST_CASE(with_max_reconnect_minus_one_the_router_outlives_the_outage)
{
    limits_fixture f({{"BEAMLINE_NATS_MAX_RECONNECT", "-1"}, {"BEAMLINE_NATS_RECONNECT_WAIT_MS", "100"}});
    f.caller.reset();
    f.server.stop();
    BOOST_TEST_REQUIRE(f.router->wait_health(503, 15s));
    // Far more attempts than the budget of the test above, and still running.
    BOOST_TEST(!f.router->wait_exit(3s).has_value());
    f.server.start();
    BOOST_TEST(f.router->wait_health(200, 20s));
}

BOOST_AUTO_TEST_SUITE_END()
