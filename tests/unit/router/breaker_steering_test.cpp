// Circuit breakers steering decisions, on a fake clock: an open breaker keeps its provider out of
// selection (and the reason says so when no weighted provider is left), half-open admits a bounded
// number of trials, a policy without breakers decides as before; the pipeline's record_result and
// reset run on the tenant's strand, create state only for tenants that have breakers, keep the
// status table and tell the observer of every transition.
#include "pipeline_fixtures.hpp"

#include <boost/test/unit_test.hpp>

using namespace beamline::router;
using namespace beamline::router::test;
using namespace std::chrono_literals;

namespace
{

// openai weighs everything; local is only the last resort. Small thresholds: two failures open.
constexpr std::string_view breaker_policy = R"({"version":"1",
  "providers":[{"name":"openai","weight":100},{"name":"anthropic","weight":0}],
  "fallback":"local",
  "circuit_breaker":{"enabled":true,"failure_threshold":2,"success_threshold":1,"timeout_ms":1000,
                     "half_open_max_calls":2,"min_requests":100,"error_rate_threshold":0.5,"window_seconds":60}})";

constexpr std::string_view breakerless_policy = R"({"version":"1",
  "providers":[{"name":"openai","weight":100}],"fallback":"local"})";

struct steering_fixture
{
    policy_files policies;
    decide_engine engine{policies.store, {}};
    fake_clock clock;
    tenant_state acme{"acme", tenant_limits{}, 7, clock.now};
    circuit_breaker_config cfg;

    steering_fixture()
    {
        policies.put("acme", "default", breaker_policy);
        policies.put("acme", "plain", breakerless_policy);
        cfg = policies.store.get("acme", "default")->circuit_breaker;
    }

    decide_outcome decide(const std::string& extra = {})
    {
        static int n = 0;
        decide_outcome out;
        auto request = engine.intake(request_json("acme", "r-" + std::to_string(++n), extra),
                                     {"beamline.router.v1.decide"}, out);
        BOOST_TEST_REQUIRE(request.has_value());
        engine.decide(*request, acme, clock.now, out);
        BOOST_TEST_REQUIRE(!out.error, out.reply);
        return out;
    }

    void fail_openai(int times)
    {
        for (int i = 0; i < times; ++i)
            acme.breakers().record("openai", breaker_outcome::failure, cfg, clock.now);
    }
};

struct transition_log : decide_observer
{
    struct seen
    {
        std::string tenant;
        std::string provider;
        breaker_state from;
        breaker_state to;
    };
    std::vector<seen> transitions;
    int tenants = 0;

    std::unique_ptr<tenant_observer> tenant_created(std::string_view) override
    {
        ++tenants;
        return nullptr;
    }
    void breaker_transition(std::string_view tenant, std::string_view provider,
                            const beamline::router::breaker_transition& t) noexcept override
    {
        transitions.push_back({std::string(tenant), std::string(provider), t.from, t.to});
    }
};

struct pipeline_fixture
{
    boost::asio::io_context io;
    policy_files policies;
    fake_clock clock;
    std::shared_ptr<recording_sink> sink = std::make_shared<recording_sink>();
    std::shared_ptr<transition_log> observer = std::make_shared<transition_log>();
    std::optional<decide_pipeline> pipeline;

    explicit pipeline_fixture(std::size_t max_tenants = tenant_registry_limits{}.max_tenants)
    {
        policies.put("acme", "default", breaker_policy);
        policies.put("globex", "default", breakerless_policy);
        decide_pipeline_parts parts;
        parts.assignments = std::make_shared<recording_publisher>();
        parts.observer = observer;
        parts.now = [this] { return clock.now; };
        decide_pipeline_settings settings;
        settings.tenants.max_tenants = max_tenants;
        pipeline.emplace(io.get_executor(), policies.store, settings, std::move(parts));
    }

    void settle()
    {
        io.restart();
        io.run();
    }

    std::string decide(const std::string& tenant, const std::string& id)
    {
        pipeline->submit(request_json(tenant, id), {"beamline.router.v1.decide"}, sink, id);
        settle();
        auto reply = sink->only(id).json();
        BOOST_TEST_REQUIRE(reply.at("ok").as_bool(), sink->only(id).body);
        return std::string(reply.at("decision").at("provider_id").as_string());
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(breaker_steering_suite)

BOOST_FIXTURE_TEST_CASE(an_open_breaker_moves_decisions_off_its_provider_with_the_reason_saying_why,
                        steering_fixture)
{
    auto before = decide();
    BOOST_TEST(before.provider_id == "openai");
    BOOST_TEST(to_string(*before.reason) == "weighted");

    fail_openai(2);
    auto after = decide();
    BOOST_TEST(after.provider_id == "local");
    BOOST_TEST(to_string(*after.reason) == "circuit_breaker_fallback");
    BOOST_TEST(after.reply.find("circuit_breaker_fallback") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_policy_without_breakers_ignores_the_tenants_open_breakers, steering_fixture)
{
    fail_openai(2);
    auto out = decide(R"("policy_id":"plain")");
    BOOST_TEST(out.provider_id == "openai");
    BOOST_TEST(to_string(*out.reason) == "weighted");
    BOOST_TEST(!out.breaker_change);
}

BOOST_FIXTURE_TEST_CASE(a_tenant_alternating_policies_is_decided_by_each_in_turn, steering_fixture)
{
    // The tenant remembers the policy of its last decision; a request naming another is not
    // decided by the remembered one.
    fail_openai(2);
    for (int round = 0; round < 2; ++round)
    {
        BOOST_TEST(decide().provider_id == "local");
        BOOST_TEST(decide(R"("policy_id":"plain")").provider_id == "openai");
    }
}

BOOST_FIXTURE_TEST_CASE(half_open_admits_its_trials_then_excludes_until_a_result_comes_back, steering_fixture)
{
    fail_openai(2);
    clock.advance(1001ms);

    auto first = decide();
    BOOST_TEST(first.provider_id == "openai");
    BOOST_TEST(to_string(*first.reason) == "weighted");
    BOOST_TEST_REQUIRE(first.breaker_change.has_value());
    BOOST_TEST(to_string(first.breaker_change->from) == "open");
    BOOST_TEST(to_string(first.breaker_change->to) == "half_open");
    BOOST_TEST(first.breaker_trial);

    auto second = decide();
    BOOST_TEST(second.provider_id == "openai");
    BOOST_TEST(!second.breaker_change);

    // half_open_max_calls is 2: both trials are out.
    auto third = decide();
    BOOST_TEST(third.provider_id == "local");
    BOOST_TEST(to_string(*third.reason) == "circuit_breaker_fallback");

    acme.breakers().record("openai", breaker_outcome::success, cfg, clock.now);
    BOOST_TEST(decide().provider_id == "openai");
    BOOST_TEST(to_string(*acme.breakers().state("openai", clock.now)) == "closed");
}

BOOST_FIXTURE_TEST_CASE(trials_whose_results_never_come_are_offered_again_after_the_timeout, steering_fixture)
{
    fail_openai(2);
    clock.advance(1001ms);
    BOOST_TEST(decide().provider_id == "openai");
    BOOST_TEST(decide().provider_id == "openai");
    clock.advance(999ms);
    BOOST_TEST(decide().provider_id == "local");
    clock.advance(1ms);
    BOOST_TEST(decide().provider_id == "openai");
    BOOST_TEST(decide().provider_id == "openai");
    BOOST_TEST(decide().provider_id == "local");
}

BOOST_FIXTURE_TEST_CASE(record_result_for_a_tenant_without_breakers_creates_no_state, pipeline_fixture)
{
    pipeline->record_result("nobody", "openai", breaker_outcome::failure);
    pipeline->record_result("globex", "openai", breaker_outcome::failure);
    pipeline->record_result("", "openai", breaker_outcome::failure);
    pipeline->record_result("acme", "", breaker_outcome::failure);
    settle();
    BOOST_TEST(pipeline->tenants().size() == 0u);
    BOOST_TEST(observer->tenants == 0);
    BOOST_TEST(pipeline->breakers().list({}, clock.now).empty());
}

BOOST_FIXTURE_TEST_CASE(results_open_the_breaker_on_the_strand_and_decisions_follow, pipeline_fixture)
{
    BOOST_TEST(decide("acme", "r-1") == "openai");

    pipeline->record_result("acme", "openai", breaker_outcome::failure);
    pipeline->record_result("acme", "openai", breaker_outcome::ignored);
    settle();
    auto rows = pipeline->breakers().list("acme", clock.now);
    BOOST_TEST_REQUIRE(rows.size() == 1u);
    BOOST_TEST(rows[0].provider == "openai");
    BOOST_TEST(to_string(rows[0].state.state) == "closed");
    BOOST_TEST(rows[0].state.consecutive_failures == 1u);
    BOOST_TEST(observer->transitions.empty());

    pipeline->record_result("acme", "openai", breaker_outcome::failure);
    settle();
    BOOST_TEST_REQUIRE(observer->transitions.size() == 1u);
    BOOST_TEST(observer->transitions[0].tenant == "acme");
    BOOST_TEST(observer->transitions[0].provider == "openai");
    BOOST_TEST(to_string(observer->transitions[0].to) == "open");
    rows = pipeline->breakers().list("acme", clock.now);
    BOOST_TEST_REQUIRE(rows.size() == 1u);
    BOOST_TEST(to_string(rows[0].state.state) == "open");
    BOOST_TEST(rows[0].state.open_remaining.count() == 1000);

    BOOST_TEST(decide("acme", "r-2") == "local");

    // The table tells the lazy open → half_open as it is, before any decision has looked.
    clock.advance(1500ms);
    rows = pipeline->breakers().list({}, clock.now);
    BOOST_TEST_REQUIRE(rows.size() == 1u);
    BOOST_TEST(to_string(rows[0].state.state) == "half_open");
    BOOST_TEST(rows[0].state.open_remaining.count() == 0);

    BOOST_TEST(decide("acme", "r-3") == "openai");
    BOOST_TEST_REQUIRE(observer->transitions.size() == 2u);
    BOOST_TEST(to_string(observer->transitions[1].to) == "half_open");
    BOOST_TEST(pipeline->breakers().list("acme", clock.now)[0].state.half_open_calls == 1u);
}

BOOST_FIXTURE_TEST_CASE(reset_closes_the_breakers_it_counts_on_the_tenants_strand, pipeline_fixture)
{
    BOOST_TEST(decide("acme", "r-1") == "openai");
    for (int i = 0; i < 2; ++i)
    {
        pipeline->record_result("acme", "openai", breaker_outcome::failure);
        pipeline->record_result("acme", "anthropic", breaker_outcome::success);
    }
    settle();
    BOOST_TEST(decide("acme", "r-2") == "local");

    BOOST_TEST(pipeline->reset_breakers("acme", "nope") == 0u);
    BOOST_TEST(pipeline->reset_breakers("globex", "") == 0u);
    BOOST_TEST(pipeline->reset_breakers("acme", "openai") == 1u);
    settle();
    BOOST_TEST(decide("acme", "r-3") == "openai");
    BOOST_TEST(to_string(observer->transitions.back().from) == "open");
    BOOST_TEST(to_string(observer->transitions.back().to) == "closed");
    for (const auto& row : pipeline->breakers().list({}, clock.now))
        BOOST_TEST(to_string(row.state.state) == "closed");

    BOOST_TEST(pipeline->reset_breakers("", "") == 2u);
}

struct one_tenant_pipeline : pipeline_fixture
{
    one_tenant_pipeline() : pipeline_fixture(1) {}
};

BOOST_FIXTURE_TEST_CASE(an_evicted_tenant_takes_its_breaker_rows_with_it, one_tenant_pipeline)
{
    pipeline->record_result("acme", "openai", breaker_outcome::failure);
    settle();
    BOOST_TEST(pipeline->breakers().list("acme", clock.now).size() == 1u);

    // Room for one tenant: deciding for globex evicts acme's idle state, and its breakers with it.
    BOOST_TEST(decide("globex", "r-1") == "openai");
    BOOST_TEST(pipeline->tenants().evictions() == 1u);
    BOOST_TEST(pipeline->breakers().list({}, clock.now).empty());

    // A new state for acme starts with closed breakers and lists them again once it has results.
    pipeline->record_result("acme", "openai", breaker_outcome::failure);
    settle();
    auto rows = pipeline->breakers().list({}, clock.now);
    BOOST_TEST_REQUIRE(rows.size() == 1u);
    BOOST_TEST(rows[0].tenant == "acme");
    BOOST_TEST(rows[0].state.consecutive_failures == 1u);
}

BOOST_AUTO_TEST_CASE(the_status_table_forgets_an_evicted_state_but_not_its_successor)
{
    breaker_status_table table;
    auto now = std::chrono::steady_clock::now();
    circuit_breaker::snapshot s{};
    int old_owner = 0, new_owner = 0;
    table.update("acme", "openai", &old_owner, s, now);
    table.update("acme", "anthropic", &old_owner, s, now);
    table.update("acmeco", "openai", &old_owner, s, now);
    table.update("acme", "openai", &new_owner, s, now);
    table.forget("acme", &old_owner);
    auto rows = table.list({}, now);
    BOOST_TEST_REQUIRE(rows.size() == 2u);
    BOOST_TEST(rows[0].tenant == "acme");
    BOOST_TEST(rows[0].provider == "openai");
    BOOST_TEST(rows[1].tenant == "acmeco");
    BOOST_TEST(table.tenants() == (std::vector<std::string>{"acme", "acmeco"}));
}

BOOST_AUTO_TEST_SUITE_END()
