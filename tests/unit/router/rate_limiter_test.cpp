#include <beamline/router/rate_limiter.hpp>
#include <boost/test/unit_test.hpp>

using namespace beamline::router;
using namespace std::chrono_literals;

namespace
{
const token_bucket::clock::time_point t0{std::chrono::hours(1000)};
}

BOOST_AUTO_TEST_SUITE(rate_limiter)

BOOST_AUTO_TEST_CASE(burst_then_refill)
{
    token_bucket bucket(10, 3, t0); // 10 per second, burst 3
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(bucket.try_acquire(t0).allowed);
    auto denied = bucket.try_acquire(t0);
    BOOST_TEST(!denied.allowed);
    BOOST_TEST(denied.retry_after_ms == 100u);

    auto half = bucket.try_acquire(t0 + 40ms);
    BOOST_TEST(!half.allowed);
    BOOST_TEST(half.retry_after_ms == 60u);

    BOOST_TEST(bucket.try_acquire(t0 + 100ms).allowed);
    BOOST_TEST(!bucket.try_acquire(t0 + 100ms).allowed);

    // A long pause refills to the burst, no further.
    auto later = t0 + 1h;
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(bucket.try_acquire(later).allowed);
    BOOST_TEST(!bucket.try_acquire(later).allowed);
}

BOOST_AUTO_TEST_CASE(slow_rates_report_long_waits)
{
    token_bucket bucket(0.5, 1, t0); // one every two seconds
    BOOST_TEST(bucket.try_acquire(t0).allowed);
    BOOST_TEST(bucket.try_acquire(t0).retry_after_ms == 2000u);
    BOOST_TEST(bucket.try_acquire(t0 + 1500ms).retry_after_ms == 500u);
    BOOST_TEST(bucket.try_acquire(t0 + 2s).allowed);
}

BOOST_AUTO_TEST_CASE(a_backwards_clock_earns_nothing)
{
    token_bucket bucket(1, 1, t0);
    BOOST_TEST(bucket.try_acquire(t0).allowed);
    BOOST_TEST(!bucket.try_acquire(t0 - 10s).allowed);
    BOOST_TEST(bucket.try_acquire(t0 + 1s).allowed);
}

BOOST_AUTO_TEST_CASE(reconfigure_keeps_earned_tokens_within_the_new_burst)
{
    token_bucket bucket(100, 50, t0);
    BOOST_TEST(bucket.tokens(t0) == 50.0);
    bucket.reconfigure(1, 2, t0);
    BOOST_TEST(bucket.tokens(t0) == 2.0);
    BOOST_TEST(bucket.try_acquire(t0).allowed);
    BOOST_TEST(bucket.try_acquire(t0).allowed);
    BOOST_TEST(bucket.try_acquire(t0).retry_after_ms == 1000u);
}

BOOST_AUTO_TEST_SUITE_END()
