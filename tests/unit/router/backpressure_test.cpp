#include <beamline/router/backpressure.hpp>
#include <beamline/router/latency_window.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>

namespace beamline::router
{
// Boost.Test prints both sides of a failed comparison.
std::ostream& operator<<(std::ostream& os, backpressure_state s) { return os << to_string(s); }
std::ostream& operator<<(std::ostream& os, backpressure_input i) { return os << to_string(i); }
} // namespace beamline::router

using namespace beamline::router;
using namespace std::chrono_literals;

namespace
{

using clock_type = backpressure_machine::clock;
const clock_type::time_point t0{std::chrono::hours(1000)};

// A fake clock the tests move by hand.
struct fake_clock
{
    clock_type::time_point now = t0;
    clock_type::time_point advance(clock_type::duration d) { return now += d; }
};

backpressure_settings marks_100_50()
{
    backpressure_settings s;
    s[backpressure_input::inflight] = {100, 50};
    s[backpressure_input::latency_p95_ms] = {200, 50};
    s[backpressure_input::pending_bytes] = {1000, 100};
    s[backpressure_input::consumer_pending] = {1000, 100};
    s.activate_after = 1000ms;
    s.recover_after = 5000ms;
    return s;
}

// Every input present; only in-flight (and latency when given) off zero.
backpressure_sample sample(double inflight, double latency = 0, double pending = 0)
{
    return {inflight, latency, pending, std::nullopt};
}

// Feeds the same sample every 100 ms for `d`, as the daemon's timer does.
backpressure_state hold(backpressure_machine& m, fake_clock& c, const backpressure_sample& s, clock_type::duration d)
{
    const auto end = c.now + d;
    auto state = m.evaluate(s, c.now);
    while (c.now < end)
        state = m.evaluate(s, c.advance(100ms));
    return state;
}

} // namespace

BOOST_AUTO_TEST_SUITE(backpressure)

BOOST_AUTO_TEST_CASE(one_input_above_high_warns_then_activates_after_the_delay)
{
    fake_clock c;
    backpressure_machine m(marks_100_50(), c.now);
    BOOST_TEST(m.evaluate(sample(10), c.now) == backpressure_state::inactive);
    BOOST_TEST(m.evaluate(sample(150), c.advance(100ms)) == backpressure_state::warning);
    BOOST_TEST(hold(m, c, sample(150), 900ms) == backpressure_state::warning); // 900 ms above high
    BOOST_TEST(m.activations() == 0u);
    BOOST_TEST(m.retry_after_ms() == 0u);
    BOOST_TEST(m.evaluate(sample(150), c.advance(100ms)) == backpressure_state::active); // 1000 ms
    BOOST_TEST(m.activations() == 1u);
    BOOST_TEST(m.retry_after_ms() > 0u);
}

BOOST_AUTO_TEST_CASE(activation_needs_the_input_above_high_without_a_break)
{
    fake_clock c;
    backpressure_machine m(marks_100_50(), c.now);
    // 900 ms above, one dip to the middle of the marks, 900 ms above again: never 1000 ms in a row.
    hold(m, c, sample(150), 900ms);
    BOOST_TEST(m.evaluate(sample(80), c.advance(100ms)) == backpressure_state::warning);
    BOOST_TEST(hold(m, c, sample(150), 900ms) == backpressure_state::warning);
    BOOST_TEST(m.activations() == 0u);
}

BOOST_AUTO_TEST_CASE(two_inputs_above_high_activate_at_once)
{
    fake_clock c;
    backpressure_machine m(marks_100_50(), c.now);
    BOOST_TEST(m.evaluate(sample(150, 300), c.advance(100ms)) == backpressure_state::active);
    BOOST_TEST(m.activations() == 1u);
}

BOOST_AUTO_TEST_CASE(no_flapping_around_either_mark)
{
    fake_clock c;
    backpressure_machine m(marks_100_50(), c.now);
    // Around the high mark: once warned, dipping under high (but not under low) stays warning.
    for (int i = 0; i < 20; ++i)
        BOOST_TEST(m.evaluate(sample(i % 2 ? 99 : 101), c.advance(100ms)) == backpressure_state::warning);

    hold(m, c, sample(150), 1000ms);
    BOOST_REQUIRE(m.state() == backpressure_state::active);
    // Around the low mark while active: every dip above low restarts the recovery delay.
    for (int i = 0; i < 100; ++i)
        BOOST_TEST(m.evaluate(sample(i % 10 == 9 ? 51 : 49), c.advance(100ms)) == backpressure_state::active);
    // Around the high mark while active: stays active, and counts one activation only.
    for (int i = 0; i < 20; ++i)
        BOOST_TEST(m.evaluate(sample(i % 2 ? 101 : 99), c.advance(100ms)) == backpressure_state::active);
    BOOST_TEST(m.activations() == 1u);
}

BOOST_AUTO_TEST_CASE(recovery_waits_for_every_input_below_low_for_the_delay)
{
    fake_clock c;
    backpressure_machine m(marks_100_50(), c.now);
    hold(m, c, sample(150), 1000ms);
    BOOST_REQUIRE(m.state() == backpressure_state::active);

    // In-flight below low, but latency between its marks: no recovery however long.
    BOOST_TEST(hold(m, c, sample(10, 100), 10s) == backpressure_state::active);
    // Everything below low: 4.9 s is not enough, 5 s is.
    BOOST_TEST(hold(m, c, sample(10, 10), 4900ms) == backpressure_state::active);
    BOOST_TEST(m.evaluate(sample(10, 10), c.advance(100ms)) == backpressure_state::inactive);
    BOOST_TEST(m.retry_after_ms() == 0u);
}

BOOST_AUTO_TEST_CASE(warning_clears_only_below_the_low_marks)
{
    fake_clock c;
    backpressure_machine m(marks_100_50(), c.now);
    m.evaluate(sample(150), c.advance(100ms));
    BOOST_TEST(m.evaluate(sample(60), c.advance(100ms)) == backpressure_state::warning);
    BOOST_TEST(m.evaluate(sample(40), c.advance(100ms)) == backpressure_state::inactive);
}

BOOST_AUTO_TEST_CASE(reset_is_overridden_by_the_next_evaluation_while_the_overload_lasts)
{
    fake_clock c;
    backpressure_machine m(marks_100_50(), c.now);
    hold(m, c, sample(150), 2s);
    BOOST_REQUIRE(m.state() == backpressure_state::active);

    auto r = m.reset(c.now);
    BOOST_TEST(r.previous == backpressure_state::active);
    BOOST_TEST(r.reactivates);
    BOOST_REQUIRE(r.still_over.size() == 1u);
    BOOST_TEST(r.still_over[0] == backpressure_input::inflight);
    BOOST_TEST(m.state() == backpressure_state::inactive);
    BOOST_TEST(m.evaluate(sample(150), c.advance(100ms)) == backpressure_state::active);
    BOOST_TEST(m.activations() == 2u);
}

BOOST_AUTO_TEST_CASE(reset_sticks_once_the_inputs_are_fine)
{
    fake_clock c;
    backpressure_machine m(marks_100_50(), c.now);
    hold(m, c, sample(150), 2s);
    m.evaluate(sample(10), c.advance(100ms)); // below low, recovery delay just started
    BOOST_REQUIRE(m.state() == backpressure_state::active);

    auto r = m.reset(c.now);
    BOOST_TEST(!r.reactivates);
    BOOST_TEST(r.still_over.empty());
    BOOST_TEST(hold(m, c, sample(10), 2s) == backpressure_state::inactive);
    BOOST_TEST(m.activations() == 1u);
}

BOOST_AUTO_TEST_CASE(retry_after_grows_with_the_overload)
{
    fake_clock c;
    auto settings = marks_100_50();
    settings.retry_after_base = 200ms;
    settings.retry_after_max = 3000ms;
    backpressure_machine m(settings, c.now);
    hold(m, c, sample(150), 1s);
    BOOST_REQUIRE(m.state() == backpressure_state::active);
    const auto at_150 = m.retry_after_ms();
    m.evaluate(sample(400), c.advance(100ms));
    const auto at_400 = m.retry_after_ms();
    m.evaluate(sample(100'000), c.advance(100ms));
    const auto far_over = m.retry_after_ms();
    BOOST_TEST(at_150 == 300u); // 200 ms × 1.5
    BOOST_TEST(at_400 == 800u); // 200 ms × 4
    BOOST_TEST(far_over == 3000u); // capped
    m.evaluate(sample(60, 1000), c.advance(100ms)); // latency 5× its high mark now dominates
    BOOST_TEST(m.retry_after_ms() == 1000u);
}

BOOST_AUTO_TEST_CASE(absent_inputs_take_no_part_and_are_not_listed)
{
    fake_clock c;
    backpressure_machine m(marks_100_50(), c.now);
    m.evaluate({std::nullopt, std::nullopt, 5000.0, std::nullopt}, c.advance(100ms));
    auto s = m.status(c.now);
    BOOST_TEST(s.state == backpressure_state::warning);
    BOOST_REQUIRE(s.inputs.size() == 1u);
    BOOST_TEST(s.inputs[0].input == backpressure_input::pending_bytes);
    BOOST_TEST(s.inputs[0].over);
    BOOST_TEST(s.inputs[0].value == 5000.0);
    BOOST_TEST(s.inputs[0].high == 1000.0);
}

BOOST_AUTO_TEST_CASE(status_reports_time_in_state)
{
    fake_clock c;
    backpressure_machine m(marks_100_50(), c.now);
    hold(m, c, sample(150), 1s);
    c.advance(2500ms);
    auto s = m.status(c.now);
    BOOST_TEST(s.state == backpressure_state::active);
    BOOST_TEST(s.since.count() == 2500);
    BOOST_TEST(s.activations == 1u);
}

BOOST_AUTO_TEST_CASE(disabled_never_leaves_inactive)
{
    fake_clock c;
    auto settings = marks_100_50();
    settings.enabled = false;
    backpressure_machine m(settings, c.now);
    BOOST_TEST(hold(m, c, sample(1000, 1000, 10'000), 5s) == backpressure_state::inactive);
    BOOST_TEST(m.activations() == 0u);
    BOOST_TEST(m.status(c.now).inputs.size() == 3u); // still measured, for the status
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(latency_window_quantiles)

BOOST_AUTO_TEST_CASE(bins_are_at_most_a_quarter_wide_and_cover_their_values)
{
    for (std::uint64_t v : {0ull, 1ull, 7ull, 8ull, 9ull, 10ull, 1000ull, 123456ull, 1ull << 39})
    {
        const auto b = latency_window::bin_of(v);
        BOOST_TEST(latency_window::bin_upper(b) >= v);
        if (b > 0) BOOST_TEST(latency_window::bin_upper(b - 1) < v);
        if (v >= 8) BOOST_TEST(static_cast<double>(latency_window::bin_upper(b)) <= 1.25 * static_cast<double>(v));
    }
}

BOOST_AUTO_TEST_CASE(p95_of_a_known_distribution)
{
    latency_window w;
    // 100 samples: 1 ms ... 100 ms. The 95th is 95 ms; the bin's upper bound is within 25% above.
    for (int i = 1; i <= 100; ++i)
        w.record(std::chrono::milliseconds(i), t0);
    const auto p95 = w.quantile(0.95, t0);
    BOOST_TEST(p95 >= 95'000u);
    BOOST_TEST(p95 <= 95'000u * 5 / 4);
    BOOST_TEST(w.quantile(1.0, t0) >= 100'000u);
    BOOST_TEST(w.count(t0) == 100u);
}

BOOST_AUTO_TEST_CASE(old_samples_slide_out_of_the_window)
{
    latency_window w(1000ms, 10);
    for (int i = 0; i < 100; ++i)
        w.record(500ms, t0);
    w.record(1ms, t0 + 5s);
    BOOST_TEST(w.quantile(0.95, t0 + 9s) >= 500'000u); // still inside
    BOOST_TEST(w.quantile(0.95, t0 + 10s) <= 1'250u);  // the slow slot has aged out
    BOOST_TEST(w.count(t0 + 10s) == 1u);
    BOOST_TEST(w.count(t0 + 20s) == 0u);
    BOOST_TEST(w.quantile(0.95, t0 + 20s) == 0u);
}

BOOST_AUTO_TEST_CASE(recent_count_sees_the_current_and_previous_slot_only)
{
    latency_window w(1000ms, 10);
    w.record(5ms, t0);
    BOOST_TEST(w.recent_count(t0) == 1u);
    BOOST_TEST(w.recent_count(t0 + 1999ms) == 1u);
    BOOST_TEST(w.recent_count(t0 + 2s) == 0u);
    BOOST_TEST(w.count(t0 + 2s) == 1u); // still in the window
}

BOOST_AUTO_TEST_CASE(too_few_samples_read_as_zero)
{
    latency_window w;
    for (int i = 0; i < 5; ++i)
        w.record(900ms, t0);
    BOOST_TEST(w.quantile(0.95, t0, 10) == 0u);
    for (int i = 0; i < 5; ++i)
        w.record(900ms, t0);
    BOOST_TEST(w.quantile(0.95, t0, 10) >= 900'000u);
}

BOOST_AUTO_TEST_CASE(memory_is_bounded_whatever_the_rate)
{
    latency_window w(100ms, 3);
    // A slot reused for a later interval starts empty: a ring, not a growing list.
    for (int s = 0; s < 50; ++s)
        for (int i = 0; i < 1000; ++i)
            w.record(std::chrono::microseconds(i), t0 + std::chrono::milliseconds(100 * s));
    BOOST_TEST(w.count(t0 + 4900ms) == 3000u);
}

BOOST_AUTO_TEST_SUITE_END()
