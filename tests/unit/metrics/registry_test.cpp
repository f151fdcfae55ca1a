#include "beamline/metrics/registry.hpp"

#include <boost/test/unit_test.hpp>
#include <map>
#include <stdexcept>
#include <thread>

using namespace beamline::metrics;

namespace
{

const family_snapshot* find_family(const std::vector<family_snapshot>& families, std::string_view name)
{
    for (const auto& f : families)
        if (f.name == name) return &f;
    return nullptr;
}

} // namespace

BOOST_AUTO_TEST_SUITE(metrics_registry)

BOOST_AUTO_TEST_CASE(registration_is_idempotent_and_returns_the_same_handle)
{
    registry reg;
    auto& a = reg.counter("router_decide_requests_total", "Decide requests.", {{"outcome", "ok"}});
    auto& b = reg.counter("router_decide_requests_total", "Decide requests.", {{"outcome", "ok"}});
    auto& c = reg.counter("router_decide_requests_total", "Decide requests.", {{"outcome", "error"}});
    BOOST_TEST(&a == &b);
    BOOST_TEST(&a != &c);
    a.inc();
    b.inc(2);
    BOOST_TEST(a.value() == 3u);
    BOOST_TEST(c.value() == 0u);
}

BOOST_AUTO_TEST_CASE(misuse_is_refused_with_the_cause_named)
{
    registry reg;
    reg.gauge("router_in_flight", "In-flight decisions.");
    auto message_of = [](auto&& f)
    {
        try
        {
            f();
        }
        catch (const std::invalid_argument& e)
        {
            return std::string(e.what());
        }
        return std::string();
    };
    BOOST_TEST(message_of([&] { reg.counter("router_in_flight_total", "x"); }).empty());
    BOOST_TEST(message_of([&] { reg.counter("router_in_flight", "In-flight decisions."); })
                   .find("already registered as a gauge") != std::string::npos);
    BOOST_TEST(message_of([&] { reg.counter("router_requests", "x"); }).find("_total") != std::string::npos);
    BOOST_TEST(message_of([&] { reg.gauge("9lives", "x"); }).find("name must match") != std::string::npos);
    BOOST_TEST(message_of(
                   [&] {
                       reg.gauge("router_x", "x", {{"bad-label", "v"}});
                   })
                   .find("bad-label") != std::string::npos);
    BOOST_TEST(message_of(
                   [&] {
                       reg.gauge("router_y", "x", {{"a", "1"}, {"a", "2"}});
                   })
                   .find("twice") != std::string::npos);
    BOOST_TEST(message_of(
                   [&] {
                       reg.histogram("router_h_seconds", "x", {0.1, 0.1});
                   })
                   .find("strictly increasing") != std::string::npos);
    BOOST_TEST(message_of(
                   [&] {
                       reg.histogram("router_h2_seconds", "x", {0.1}, {{"le", "1"}});
                   })
                   .find("reserved") != std::string::npos);
    reg.histogram("router_h3_seconds", "x", {0.1, 1});
    BOOST_TEST(message_of(
                   [&] {
                       reg.histogram("router_h3_seconds", "x", {0.1, 2});
                   })
                   .find("different histogram bounds") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(histogram_places_each_observation_in_the_first_bound_not_below_it)
{
    registry reg;
    auto& h = reg.histogram("router_decide_latency_seconds", "Latency.", {0.001, 0.01, 0.1});
    h.observe(0.0005); // <= 0.001
    h.observe(0.001);  // exactly on a bound: le is inclusive
    h.observe(0.05);   // <= 0.1
    h.observe(3);      // +Inf
    const auto counts = h.bucket_counts();
    BOOST_TEST(counts == (std::vector<std::uint64_t>{2, 0, 1, 1}), boost::test_tools::per_element());
    BOOST_TEST(h.sum() == 3.0515, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(concurrent_increments_from_two_threads_sum_exactly)
{
    registry reg;
    auto& c = reg.counter("router_messages_in_total", "Messages received.");
    auto& g = reg.gauge("router_in_flight", "In flight.");
    auto& h = reg.histogram("router_latency_seconds", "Latency.", {0.5});
    constexpr int per_thread = 200000;
    auto work = [&]
    {
        for (int i = 0; i < per_thread; ++i)
        {
            c.inc();
            g.add(1.0);
            h.observe(i % 2 ? 0.25 : 1.0);
        }
    };
    std::thread t1(work);
    std::thread t2(work);
    t1.join();
    t2.join();
    BOOST_TEST(c.value() == 2u * per_thread);
    BOOST_TEST(g.value() == 2.0 * per_thread);
    const auto counts = h.bucket_counts();
    BOOST_TEST(counts[0] == static_cast<std::uint64_t>(per_thread));
    BOOST_TEST(counts[1] == static_cast<std::uint64_t>(per_thread));
}

BOOST_AUTO_TEST_CASE(tenant_cap_folds_overflow_into_other_consistently_across_families)
{
    registry reg;
    label_cap tenants(2);
    capped_family<counter> requests(reg, tenants, "router_tenant_requests_total", "Requests per tenant.",
                                    "tenant_id");
    capped_family<gauge> in_flight(reg, tenants, "router_tenant_in_flight", "In flight per tenant.",
                                   "tenant_id", {{"kind", "decide"}});
    requests.get("acme").inc();
    requests.get("globex").inc();
    requests.get("initech").inc();  // third distinct tenant: folded
    requests.get("umbrella").inc(); // fourth: folded into the same series
    requests.get("acme").inc();
    in_flight.get("initech").set(5);
    BOOST_TEST(tenants.distinct() == 2u);
    BOOST_TEST(&requests.get("initech") == &requests.get("umbrella"));

    const auto snap = reg.snapshot();
    const auto* req = find_family(snap, "router_tenant_requests_total");
    BOOST_REQUIRE(req);
    BOOST_REQUIRE_EQUAL(req->series.size(), 3u);
    std::map<std::string, double> by_tenant;
    for (const auto& s : req->series)
        by_tenant[s.labels.at(0).second] = s.value;
    BOOST_TEST(by_tenant["acme"] == 2.0);
    BOOST_TEST(by_tenant["globex"] == 1.0);
    BOOST_TEST(by_tenant["_other"] == 2.0);

    const auto* gauges = find_family(snap, "router_tenant_in_flight");
    BOOST_REQUIRE(gauges);
    BOOST_REQUIRE_EQUAL(gauges->series.size(), 1u);
    BOOST_TEST(gauges->series[0].labels == (label_set{{"tenant_id", "_other"}, {"kind", "decide"}}));
}

BOOST_AUTO_TEST_CASE(callback_is_sampled_at_scrape_and_removed_with_its_registration)
{
    registry reg;
    double pending = 42;
    {
        auto reg_token = reg.callback(metric_type::gauge, "router_nats_pending_bytes", "Pending bytes.", {},
                                      [&] { return pending; });
        pending = 7;
        const auto snap = reg.snapshot();
        const auto* f = find_family(snap, "router_nats_pending_bytes");
        BOOST_REQUIRE(f);
        BOOST_TEST(f->series.at(0).value == 7.0);
    }
    BOOST_TEST(find_family(reg.snapshot(), "router_nats_pending_bytes") == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()
