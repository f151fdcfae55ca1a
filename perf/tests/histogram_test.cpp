#include "histogram.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdint>

using beamline::perf::LatencyHistogram;

BOOST_AUTO_TEST_SUITE(latency_histogram)

BOOST_AUTO_TEST_CASE(small_values_are_exact)
{
    LatencyHistogram histogram;
    for (std::uint64_t v = 1; v <= 100; ++v)
        histogram.record(v);
    BOOST_TEST(histogram.count() == 100u);
    BOOST_TEST(histogram.value_at_quantile(0.50) == 50u);
    BOOST_TEST(histogram.value_at_quantile(0.99) == 99u);
    BOOST_TEST(histogram.value_at_quantile(1.0) == 100u);
    BOOST_TEST(histogram.max() == 100u);
    BOOST_TEST(histogram.mean() == 50.5);
}

BOOST_AUTO_TEST_CASE(large_values_stay_within_relative_precision)
{
    // One million values from 1 us to 1 s in nanoseconds: every quantile within 1% of the truth.
    LatencyHistogram histogram;
    for (std::uint64_t i = 1; i <= 1'000'000; ++i)
        histogram.record(i * 1000);
    for (double q : {0.5, 0.95, 0.99, 0.999})
    {
        const double truth = q * 1e9;
        const double reported = double(histogram.value_at_quantile(q));
        BOOST_TEST(reported >= truth * 0.99);
        BOOST_TEST(reported <= truth * 1.01);
    }
    BOOST_TEST(histogram.value_at_quantile(1.0) == 1'000'000'000u);
}

BOOST_AUTO_TEST_CASE(a_rare_stall_shows_in_the_tail_only)
{
    LatencyHistogram histogram;
    for (int i = 0; i < 9990; ++i)
        histogram.record(100'000); // 100 us
    for (int i = 0; i < 10; ++i)
        histogram.record(50'000'000); // 50 ms
    BOOST_TEST(histogram.value_at_quantile(0.99) <= 101'000u);
    BOOST_TEST(histogram.value_at_quantile(0.9995) >= 49'500'000u);
    BOOST_TEST(histogram.max() == 50'000'000u);
}

BOOST_AUTO_TEST_CASE(merge_adds_counts_and_keeps_the_maximum)
{
    LatencyHistogram a;
    LatencyHistogram b;
    a.record(10);
    b.record(1'000'000);
    a.merge(b);
    BOOST_TEST(a.count() == 2u);
    BOOST_TEST(a.max() == 1'000'000u);
    BOOST_TEST(a.value_at_quantile(0.5) == 10u);
}

BOOST_AUTO_TEST_CASE(bucket_bounds_are_monotonic_and_cover_the_range)
{
    std::uint64_t previous = 0;
    for (std::size_t i = 1; i < LatencyHistogram::kBucketCount - 1; ++i)
    {
        const std::uint64_t bound = LatencyHistogram::highest_equivalent(i);
        BOOST_TEST_REQUIRE(bound > previous);
        BOOST_TEST_REQUIRE(LatencyHistogram::index_of(bound) == i);
        previous = bound;
    }
    BOOST_TEST(LatencyHistogram::index_of(~std::uint64_t{0}) == LatencyHistogram::kBucketCount - 1);
}

BOOST_AUTO_TEST_CASE(empty_histogram_reports_zero)
{
    LatencyHistogram histogram;
    BOOST_TEST(histogram.value_at_quantile(0.99) == 0u);
    BOOST_TEST(histogram.mean() == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()
