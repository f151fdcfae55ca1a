// The breaker metrics decide_telemetry keeps: the state gauge per tenant (capped) and provider,
// set by each transition, and the transitions counted by from/to.
#include "beamline/app/decide_telemetry.hpp"

#include <boost/test/unit_test.hpp>

using namespace beamline;

namespace
{

double value_of(const metrics::registry& reg, std::string_view name, const metrics::label_set& labels)
{
    for (const auto& f : reg.snapshot())
        if (f.name == name)
            for (const auto& s : f.series)
                if (s.labels == labels) return s.value;
    return -1;
}

router::breaker_transition move(router::breaker_state from, router::breaker_state to)
{
    return {from, to, "test"};
}

} // namespace

BOOST_AUTO_TEST_SUITE(breaker_metrics_suite)

BOOST_AUTO_TEST_CASE(transitions_set_the_state_gauge_and_count_by_from_and_to)
{
    using router::breaker_state;
    metrics::registry reg;
    app::decide_telemetry telemetry(reg, 1);
    BOOST_TEST(value_of(reg, "router_breaker_transitions_total", {{"from", "closed"}, {"to", "open"}}) == 0);

    telemetry.breaker_transition("acme", "openai", move(breaker_state::closed, breaker_state::open));
    BOOST_TEST(value_of(reg, "router_breaker_state", {{"tenant", "acme"}, {"provider", "openai"}}) == 1);
    telemetry.breaker_transition("acme", "openai", move(breaker_state::open, breaker_state::half_open));
    BOOST_TEST(value_of(reg, "router_breaker_state", {{"tenant", "acme"}, {"provider", "openai"}}) == 2);
    telemetry.breaker_transition("acme", "openai", move(breaker_state::half_open, breaker_state::open));
    telemetry.breaker_transition("acme", "openai", move(breaker_state::open, breaker_state::half_open));
    BOOST_TEST(value_of(reg, "router_breaker_transitions_total", {{"from", "open"}, {"to", "half_open"}}) == 2);
    BOOST_TEST(value_of(reg, "router_breaker_transitions_total", {{"from", "closed"}, {"to", "open"}}) == 1);

    // Past the tenant cap (1), tenants share `_other`.
    telemetry.breaker_transition("globex", "openai", move(breaker_state::closed, breaker_state::open));
    BOOST_TEST(value_of(reg, "router_breaker_state", {{"tenant", "_other"}, {"provider", "openai"}}) == 1);
    BOOST_TEST(value_of(reg, "router_breaker_state", {{"tenant", "globex"}, {"provider", "openai"}}) == -1);
}

BOOST_AUTO_TEST_SUITE_END()
