// The run/reconnect machine driven by hand: each step (connect, re-subscribe, the live connection)
// fails in turn, and the test checks what the machine asks for next: the next server, a backoff
// sleep after a full pass, the first outcome reported once, giving up when it must.

#include <beamline/nats/error.hpp>
#include <beamline/nats/sansio/run_fsm.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

using namespace beamline::nats;
using namespace beamline::nats::sansio;
using namespace std::chrono_literals;
using kind = run_action::kind;

namespace
{

const std::error_code refused = std::make_error_code(std::errc::connection_refused);
const std::error_code reset = std::make_error_code(std::errc::connection_reset);

run_fsm make(std::vector<std::string> servers, run_policy policy = {}, int max_attempts = 3)
{
    std::vector<server_url> urls;
    for (const auto& s : servers)
    {
        server_url u;
        BOOST_TEST_REQUIRE(!parse_server_url(s, u));
        urls.push_back(u);
    }
    // No randomising, no jitter: the order and the delays are the configuration's.
    return run_fsm(server_pool(std::move(urls), false, max_attempts, 1), reconnect_backoff(50ms, 0ms, 1), policy);
}

/// Connects successfully through to `run`.
run_action connect_ok(run_fsm& f, run_action a)
{
    BOOST_TEST_REQUIRE((a.what == kind::connect));
    a = f.on_connect_result({});
    BOOST_TEST_REQUIRE((a.what == kind::resubscribe));
    a = f.on_resubscribed({});
    BOOST_TEST_REQUIRE((a.what == kind::run));
    return a;
}

} // namespace

BOOST_AUTO_TEST_SUITE(run_fsm_transitions)

BOOST_AUTO_TEST_CASE(first_connection_reports_success_once)
{
    auto f = make({"nats://a:4222", "nats://b:4222"});
    auto a = f.start();
    BOOST_TEST((a.what == kind::connect));
    BOOST_TEST(!a.reconnecting);
    BOOST_TEST(f.server().url.host == "a");
    a = connect_ok(f, a);
    BOOST_TEST(a.report_first_outcome);
    BOOST_TEST(!a.reconnecting);
    BOOST_TEST(f.ever_connected());
    // The connection drops: the next server is tried, as a reconnect; no second first outcome.
    a = f.on_connection_lost(reset);
    BOOST_TEST((a.what == kind::connect));
    BOOST_TEST(a.reconnecting);
    BOOST_TEST(f.server().url.host == "b");
    a = connect_ok(f, a);
    BOOST_TEST(!a.report_first_outcome);
    BOOST_TEST(a.reconnecting);
}

BOOST_AUTO_TEST_CASE(a_failed_first_pass_reports_and_stops_without_retry)
{
    auto f = make({"nats://a:4222", "nats://b:4222"});
    auto a = f.start();
    a = f.on_connect_result(refused);
    BOOST_TEST((a.what == kind::connect));
    BOOST_TEST(f.server().url.host == "b");
    a = f.on_connect_result(refused);
    BOOST_TEST((a.what == kind::closed));
    BOOST_TEST(a.report_first_outcome);
    BOOST_TEST(!a.pool_exhausted);
}

BOOST_AUTO_TEST_CASE(with_retry_on_failed_connect_a_failed_pass_reports_then_backs_off)
{
    run_policy p;
    p.retry_on_failed_connect = true;
    auto f = make({"nats://a:4222"}, p, -1);
    auto a = f.start();
    a = f.on_connect_result(refused);
    BOOST_TEST((a.what == kind::sleep));
    BOOST_TEST(a.report_first_outcome);
    BOOST_TEST(a.delay.count() == 50);
    a = f.on_sleep_done();
    BOOST_TEST((a.what == kind::connect));
    a = f.on_connect_result(refused);
    BOOST_TEST((a.what == kind::sleep));
    BOOST_TEST(!a.report_first_outcome); // once only
    a = f.on_sleep_done();
    a = connect_ok(f, a);
    BOOST_TEST(!a.report_first_outcome);
    BOOST_TEST(!a.reconnecting); // the first connection, late
}

BOOST_AUTO_TEST_CASE(a_failed_resubscribe_counts_as_a_failed_attempt_and_moves_on)
{
    auto f = make({"nats://a:4222", "nats://b:4222"});
    auto a = f.start();
    a = f.on_connect_result({});
    BOOST_TEST((a.what == kind::resubscribe));
    a = f.on_resubscribed(reset);
    BOOST_TEST((a.what == kind::connect));
    BOOST_TEST(f.server().url.host == "b");
    BOOST_TEST(!f.ever_connected());
}

BOOST_AUTO_TEST_CASE(losing_a_connection_without_allow_reconnect_closes)
{
    run_policy p;
    p.allow_reconnect = false;
    auto f = make({"nats://a:4222"}, p);
    auto a = connect_ok(f, f.start());
    a = f.on_connection_lost(reset);
    BOOST_TEST((a.what == kind::closed));
}

BOOST_AUTO_TEST_CASE(after_a_full_failed_pass_without_allow_reconnect_it_closes)
{
    run_policy p;
    p.allow_reconnect = false;
    p.retry_on_failed_connect = true;
    auto f = make({"nats://a:4222"}, p, -1);
    auto a = f.start();
    a = f.on_connect_result(refused); // the first pass fails: report, sleep
    BOOST_TEST((a.what == kind::sleep));
    a = connect_ok(f, f.on_sleep_done());
    a = f.on_connection_lost(reset);
    BOOST_TEST((a.what == kind::closed));
}

BOOST_AUTO_TEST_CASE(servers_that_keep_failing_leave_the_pool_until_it_is_empty)
{
    run_policy p;
    p.retry_on_failed_connect = true;
    auto f = make({"nats://a:4222"}, p, 2);
    auto a = f.start();
    a = f.on_connect_result(refused);
    BOOST_TEST((a.what == kind::sleep));
    a = f.on_sleep_done();
    BOOST_TEST((a.what == kind::connect));
    a = f.on_connect_result(refused); // the second failure removes it
    BOOST_TEST((a.what == kind::closed));
    BOOST_TEST(a.pool_exhausted);
    BOOST_TEST(f.pool().empty());
}

BOOST_AUTO_TEST_CASE(the_same_auth_error_twice_drops_the_server_at_once)
{
    auto f = make({"nats://a:4222", "nats://b:4222"}, {}, -1);
    auto auth = make_error_code(server_errc::authorization_violation);
    auto a = connect_ok(f, f.start()); // a
    a = f.on_connection_lost(auth);    // counts against a
    BOOST_TEST(f.server().url.host == "b");
    a = f.on_connect_result(refused);
    BOOST_TEST((a.what == kind::connect));
    BOOST_TEST(f.server().url.host == "a");
    a = f.on_connect_result(auth); // a second auth error in a row: a is gone
    BOOST_TEST(f.pool().size() == 1u);
    BOOST_TEST(f.pool().entries()[0].url.host == "b");
}

BOOST_AUTO_TEST_CASE(announced_servers_join_the_pool_unless_ignored)
{
    run_policy p;
    p.tls_wanted = true;
    auto f = make({"nats://a:4222"}, p);
    auto a = f.start();
    a = f.on_connect_result({}, {"10.0.0.2:4222"});
    BOOST_TEST(f.pool().size() == 2u);
    f.on_servers_announced({"10.0.0.3:4222"});
    BOOST_TEST_REQUIRE(f.pool().size() == 3u);
    for (const auto& e : f.pool().entries())
        if (e.discovered)
        {
            BOOST_TEST(e.url.tls);          // TLS wanted: announced servers are TLS too
            BOOST_TEST(e.tls_name == "a"); // and verified under the name we connected with
        }

    run_policy ignore;
    ignore.ignore_discovered_servers = true;
    auto g = make({"nats://a:4222"}, ignore);
    g.start();
    g.on_connect_result({}, {"10.0.0.2:4222"});
    g.on_servers_announced({"10.0.0.3:4222"});
    BOOST_TEST(g.pool().size() == 1u);
}

BOOST_AUTO_TEST_CASE(close_stops_from_any_step)
{
    auto f = make({"nats://a:4222"});
    BOOST_TEST((f.on_close().what == kind::closed));
    f.start();
    BOOST_TEST((f.on_close().what == kind::closed));
}

BOOST_AUTO_TEST_CASE(an_empty_pool_closes_at_once)
{
    auto f = make({});
    auto a = f.start();
    BOOST_TEST((a.what == kind::closed));
    BOOST_TEST(a.pool_exhausted);
}

BOOST_AUTO_TEST_SUITE_END()
