#include "beamline/router/circuit_breaker.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <ostream>

namespace beamline::router
{
std::ostream& operator<<(std::ostream& os, breaker_state s) { return os << to_string(s); }
std::ostream& operator<<(std::ostream& os, breaker_outcome o) { return os << to_string(o); }
} // namespace beamline::router

using namespace beamline::router;
using namespace std::chrono_literals;

namespace
{

using clock = circuit_breaker::clock;

/// A fake clock: tests move time by hand.
struct fake_clock
{
    clock::time_point now = clock::time_point(1000h);
    void advance(clock::duration d) { now += d; }
};

circuit_breaker_config small_config()
{
    circuit_breaker_config c;
    c.enabled = true;
    c.failure_threshold = 3;
    c.success_threshold = 2;
    c.timeout = 10s;
    c.half_open_max_calls = 2;
    c.min_requests = 10;
    c.error_rate_threshold = 0.5;
    c.window = 60s;
    return c;
}

void feed(circuit_breaker& b, breaker_outcome o, int n, fake_clock& t, clock::duration step = 10ms)
{
    for (int i = 0; i < n; ++i)
    {
        b.record(o, t.now);
        t.advance(step);
    }
}

/// Opens `b` through consecutive failures.
void open_it(circuit_breaker& b, fake_clock& t)
{
    for (int i = 0; i < b.config().failure_threshold; ++i) b.record(breaker_outcome::failure, t.now);
    BOOST_TEST_REQUIRE(b.state(t.now) == breaker_state::open);
}

} // namespace

BOOST_AUTO_TEST_SUITE(circuit_breaker_suite)

BOOST_AUTO_TEST_CASE(classification_follows_the_documented_list_and_ignores_free_text)
{
    BOOST_TEST(classify_result("success", "", "") == breaker_outcome::success);
    BOOST_TEST(classify_result("timeout", "", "") == breaker_outcome::failure);
    BOOST_TEST(classify_result("cancelled", "TIMEOUT", "") == breaker_outcome::ignored);
    BOOST_TEST(classify_result("error", "TIMEOUT", "") == breaker_outcome::failure);
    BOOST_TEST(classify_result("error", "Http_503", "") == breaker_outcome::failure);
    BOOST_TEST(classify_result("error", "", "Connection_Error") == breaker_outcome::failure);
    BOOST_TEST(classify_result("error", "", "server_error") == breaker_outcome::failure);
    // A caller's fault is not the provider's, whatever digits it holds.
    BOOST_TEST(classify_result("error", "INVALID_PROMPT_5", "") == breaker_outcome::ignored);
    BOOST_TEST(classify_result("error", "HTTP_400", "bad_request") == breaker_outcome::ignored);
    BOOST_TEST(classify_result("error", "", "") == breaker_outcome::ignored);
    BOOST_TEST(classify_result("weird", "TIMEOUT", "") == breaker_outcome::ignored);
    for (auto name : provider_fault_names()) BOOST_TEST(classify_result("error", name, "") == breaker_outcome::failure);
}

BOOST_AUTO_TEST_CASE(consecutive_failures_open_it_and_a_success_restarts_the_count)
{
    fake_clock t;
    circuit_breaker b(small_config());
    feed(b, breaker_outcome::failure, 2, t);
    feed(b, breaker_outcome::success, 1, t);
    feed(b, breaker_outcome::failure, 2, t);
    BOOST_TEST(b.state(t.now) == breaker_state::closed);
    auto tr = b.record(breaker_outcome::failure, t.now);
    BOOST_TEST_REQUIRE(tr.has_value());
    BOOST_TEST(tr->reason == "failure_threshold");
    BOOST_TEST(tr->from == breaker_state::closed);
    BOOST_TEST(tr->to == breaker_state::open);
    BOOST_TEST(!b.allows(t.now));
}

BOOST_AUTO_TEST_CASE(error_rate_counts_only_once_the_window_holds_min_requests)
{
    fake_clock t;
    auto cfg = small_config();
    cfg.failure_threshold = 1000; // only the rate can open it
    circuit_breaker b(cfg);
    // 4 failures, 4 successes alternating: rate 0.5 but only 8 results < min_requests 10.
    for (int i = 0; i < 4; ++i)
    {
        feed(b, breaker_outcome::failure, 1, t);
        feed(b, breaker_outcome::success, 1, t);
    }
    BOOST_TEST(b.state(t.now) == breaker_state::closed);
    feed(b, breaker_outcome::success, 1, t); // 9 results, 4 failures
    auto tr = b.record(breaker_outcome::failure, t.now); // 10 results, 5 failures: 0.5
    BOOST_TEST_REQUIRE(tr.has_value());
    BOOST_TEST(tr->reason == "error_rate");
}

BOOST_AUTO_TEST_CASE(ignored_results_count_for_nothing)
{
    fake_clock t;
    circuit_breaker b(small_config());
    feed(b, breaker_outcome::failure, 2, t);
    feed(b, breaker_outcome::ignored, 50, t);
    BOOST_TEST(b.inspect(t.now).window_requests == 2u);
    BOOST_TEST(b.inspect(t.now).consecutive_failures == 2u);
}

BOOST_AUTO_TEST_CASE(failures_older_than_the_window_no_longer_count)
{
    fake_clock t;
    auto cfg = small_config();
    cfg.failure_threshold = 1000;
    circuit_breaker b(cfg);
    feed(b, breaker_outcome::failure, 9, t);
    t.advance(61s); // all of them left the window
    BOOST_TEST(b.inspect(t.now).window_requests == 0u);
    feed(b, breaker_outcome::success, 5, t);
    BOOST_TEST(!b.record(breaker_outcome::failure, t.now).has_value()); // 6 in window < 10
    BOOST_TEST(b.state(t.now) == breaker_state::closed);
}

BOOST_AUTO_TEST_CASE(open_becomes_half_open_after_the_timeout_and_admits_a_bounded_number_of_trials)
{
    fake_clock t;
    circuit_breaker b(small_config());
    open_it(b, t);
    t.advance(9999ms);
    BOOST_TEST(!b.allows(t.now));
    BOOST_TEST(b.inspect(t.now).open_remaining == 1ms);
    t.advance(1ms);
    BOOST_TEST(b.state(t.now) == breaker_state::half_open);
    BOOST_TEST(b.allows(t.now));
    auto tr = b.admit(t.now);
    BOOST_TEST_REQUIRE(tr.has_value());
    BOOST_TEST(tr->reason == "timeout_elapsed");
    BOOST_TEST(b.allows(t.now));
    BOOST_TEST(!b.admit(t.now).has_value());
    BOOST_TEST(!b.allows(t.now)); // both trials out, no result yet
}

BOOST_AUTO_TEST_CASE(half_open_closes_after_success_threshold_and_reopens_on_any_failure)
{
    fake_clock t;
    circuit_breaker b(small_config());
    open_it(b, t);
    t.advance(10s);
    b.admit(t.now);
    BOOST_TEST(!b.record(breaker_outcome::success, t.now).has_value());
    auto closed = b.record(breaker_outcome::success, t.now);
    BOOST_TEST_REQUIRE(closed.has_value());
    BOOST_TEST(closed->reason == "trials_succeeded");
    BOOST_TEST(b.state(t.now) == breaker_state::closed);
    BOOST_TEST(b.inspect(t.now).window_requests == 0u); // a clean record after recovery

    open_it(b, t);
    t.advance(10s);
    b.admit(t.now);
    b.record(breaker_outcome::success, t.now);
    auto reopened = b.record(breaker_outcome::failure, t.now);
    BOOST_TEST_REQUIRE(reopened.has_value());
    BOOST_TEST(reopened->reason == "trial_failed");
    BOOST_TEST(reopened->to == breaker_state::open);
    t.advance(9s);
    BOOST_TEST(!b.allows(t.now)); // the timeout runs again from the reopening
}

BOOST_AUTO_TEST_CASE(late_results_while_open_do_not_move_it)
{
    fake_clock t;
    circuit_breaker b(small_config());
    open_it(b, t);
    BOOST_TEST(!b.record(breaker_outcome::success, t.now).has_value());
    BOOST_TEST(!b.record(breaker_outcome::success, t.now).has_value());
    BOOST_TEST(b.state(t.now) == breaker_state::open);
}

BOOST_AUTO_TEST_CASE(reset_closes_and_clears)
{
    fake_clock t;
    circuit_breaker b(small_config());
    open_it(b, t);
    auto tr = b.reset(t.now);
    BOOST_TEST_REQUIRE(tr.has_value());
    BOOST_TEST(tr->reason == "reset");
    BOOST_TEST(b.allows(t.now));
    BOOST_TEST(b.inspect(t.now).consecutive_failures == 0u);
    BOOST_TEST(!b.reset(t.now).has_value()); // already closed: no transition
}

BOOST_AUTO_TEST_CASE(board_tracks_breakers_only_under_an_enabled_policy_and_is_bounded)
{
    fake_clock t;
    auto cfg = small_config();
    breaker_board board(2);
    auto disabled = cfg;
    disabled.enabled = false;
    for (int i = 0; i < 5; ++i) board.record("openai", breaker_outcome::failure, disabled, t.now);
    BOOST_TEST(board.size() == 0u);

    for (int i = 0; i < 3; ++i) board.record("openai", breaker_outcome::failure, cfg, t.now);
    BOOST_TEST(board.excludes("openai", cfg, t.now));
    BOOST_TEST(!board.excludes("openai", disabled, t.now)); // the policy turned breakers off
    BOOST_TEST(!board.excludes("anthropic", cfg, t.now));

    board.record("anthropic", breaker_outcome::success, cfg, t.now);
    board.record("rogue", breaker_outcome::failure, cfg, t.now);
    BOOST_TEST(board.size() == 2u);
    BOOST_TEST(board.untracked() == 1u);

    auto listed = board.list(t.now);
    BOOST_TEST_REQUIRE(listed.size() == 2u);
    BOOST_TEST(listed[0].provider == "anthropic");
    BOOST_TEST(listed[1].state.state == breaker_state::open);

    BOOST_TEST(board.reset("openai", t.now) == 1u);
    BOOST_TEST(!board.excludes("openai", cfg, t.now));
    BOOST_TEST(board.reset("nobody", t.now) == 0u);
    BOOST_TEST(board.reset("", t.now) == 2u);
}

BOOST_AUTO_TEST_CASE(board_admit_takes_half_open_trials)
{
    fake_clock t;
    auto cfg = small_config();
    cfg.half_open_max_calls = 1;
    breaker_board board;
    for (int i = 0; i < 3; ++i) board.record("openai", breaker_outcome::failure, cfg, t.now);
    t.advance(10s);
    BOOST_TEST(!board.excludes("openai", cfg, t.now));
    board.admit("openai", t.now);
    BOOST_TEST(board.excludes("openai", cfg, t.now));
    board.record("openai", breaker_outcome::success, cfg, t.now);
    board.record("openai", breaker_outcome::success, cfg, t.now);
    BOOST_TEST(!board.excludes("openai", cfg, t.now));
    BOOST_TEST(board.list(t.now)[0].state.state == breaker_state::closed);
}

BOOST_AUTO_TEST_SUITE_END()
