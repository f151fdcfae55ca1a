#include "beamline/metrics/exposition_reader.hpp"
#include "beamline/metrics/prometheus.hpp"
#include "beamline/metrics/registry.hpp"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <string>

using namespace beamline::metrics;

BOOST_AUTO_TEST_SUITE(exposition_reader)

BOOST_AUTO_TEST_CASE(reads_names_labels_values_and_skips_comments)
{
    exposition e;
    auto err = parse_exposition("# HELP a_total things\n# TYPE a_total counter\n"
                                "a_total{outcome=\"ok\",code=\"none\"} 3\n"
                                "a_total{outcome=\"error\",code=\"x\\\"y\"} 2 1700000000000\n"
                                "\r\n"
                                "b 1.5e3\n"
                                "c{le=\"+Inf\"} +Inf\n",
                                e);
    BOOST_TEST_REQUIRE(!err.has_value());
    BOOST_TEST_REQUIRE(e.samples.size() == 4u);
    BOOST_TEST(e.samples[1].label("code").value() == "x\"y");
    BOOST_TEST(*e.sum("a_total") == 5.0);
    BOOST_TEST(*e.sum("a_total", {{"outcome", "error"}}) == 2.0);
    BOOST_TEST(*e.sum("b") == 1500.0);
    BOOST_TEST(std::isinf(*e.sum("c")));
    BOOST_TEST(!e.sum("missing").has_value());
    BOOST_TEST(*e.sum("a_total", {{"outcome", "nope"}}) == 0.0 ); // the name exists: 0, not absent
}

BOOST_AUTO_TEST_CASE(malformed_lines_are_named_by_number)
{
    for (std::string bad : {"x{a=1} 2\n", "x{a=\"1} 2\n", "x abc\n", "{a=\"b\"} 1\n", "x{=\"b\"} 1\n"})
    {
        exposition e;
        auto err = parse_exposition("ok 1\n" + bad, e);
        BOOST_TEST_REQUIRE(err.has_value(), bad);
        BOOST_TEST(err->line == 2u);
    }
}

BOOST_AUTO_TEST_CASE(sum_by_groups_and_orders_largest_first)
{
    exposition e;
    BOOST_TEST_REQUIRE(!parse_exposition("r{code=\"a\",o=\"e\"} 1\nr{code=\"b\",o=\"e\"} 5\nr{code=\"a\",o=\"e\"} 1\n"
                                         "r{code=\"c\",o=\"ok\"} 9\n",
                                         e));
    auto by = e.sum_by("r", "code", {{"o", "e"}});
    BOOST_TEST_REQUIRE(by.size() == 2u);
    BOOST_TEST(by[0].first == "b");
    BOOST_TEST(by[1].second == 2.0);
}

BOOST_AUTO_TEST_CASE(quantiles_follow_prometheus_linear_interpolation)
{
    // 100 observations: 50 ≤ 0.1, 90 ≤ 0.2, 100 ≤ 0.4.
    std::vector<std::pair<double, double>> b{{0.1, 50}, {0.2, 90}, {0.4, 100}, {INFINITY, 100}};
    BOOST_TEST(*histogram_quantile(0.5, b) == 0.1, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(*histogram_quantile(0.7, b) == 0.15, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(*histogram_quantile(0.95, b) == 0.3, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(!histogram_quantile(0.5, {{0.1, 0}, {INFINITY, 0}}).has_value());
    // Everything above the last finite bound: the highest finite bound answers.
    BOOST_TEST(*histogram_quantile(0.99, {{0.1, 0}, {INFINITY, 10}}) == 0.1);
    auto d = bucket_delta(b, {{0.1, 40}, {0.2, 80}, {0.4, 80}, {INFINITY, 80}});
    BOOST_TEST(d[0].second == 10.0);
    BOOST_TEST(d[2].second == 20.0);
}

BOOST_AUTO_TEST_CASE(reads_back_what_the_registry_writes)
{
    registry reg;
    reg.counter("router_x_total", "x", {{"k", "v"}}).inc(7);
    auto& h = reg.histogram("router_lat_seconds", "lat", latency_buckets());
    for (int i = 0; i < 10; ++i) h.observe(0.0003);
    exposition e;
    BOOST_TEST_REQUIRE(!parse_exposition(render_text(reg), e).has_value());
    BOOST_TEST(*e.sum("router_x_total", {{"k", "v"}}) == 7.0);
    BOOST_TEST(e.buckets("router_lat_seconds").back().second == 10.0);
    auto p50 = histogram_quantile(0.5, e.buckets("router_lat_seconds"));
    BOOST_TEST_REQUIRE(p50.has_value());
    BOOST_TEST((*p50 > 0.00025 && *p50 <= 0.0005));
}

BOOST_AUTO_TEST_SUITE_END()
