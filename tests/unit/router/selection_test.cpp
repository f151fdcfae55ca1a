#include <beamline/router/selection.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>
#include <map>
#include <set>

using namespace beamline::router;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace
{

policy make_policy(std::string_view text)
{
    auto r = parse_policy(text, "premium");
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
    return std::move(*r);
}

const policy premium = make_policy(R"({"version":"3",
    "providers":[{"name":"openai","weight":70,"expected_latency_ms":250,"cost":0.002},
                 {"name":"anthropic","weight":30,"expected_latency_ms":300,"cost":0.003},
                 {"name":"local_llm","expected_latency_ms":900}],
    "fallbacks":[{"when":{"status":["timeout","5xx"]},"to":"anthropic"},
                 {"when":{"status":["timeout"]},"to":"local_llm"},
                 {"when":{"all":[{">":[{"var":"attempt"},2]},{"in":[{"var":"region"},["eu","uk"]]}]},"to":"local_llm"}],
    "fallback":{"provider":"local_llm"}})");

struct fixture
{
    json::object context;
    constraints limits;
    std::set<std::string, std::less<>> open_breakers;

    selection_result select(const policy& p, std::uint64_t random = 0)
    {
        auto is_open = [this](std::string_view provider) { return open_breakers.contains(provider); };
        selection_request request{context, limits, random, is_open};
        return select_provider(p, request);
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(selection)

BOOST_FIXTURE_TEST_CASE(weighted_proportions_follow_the_weights, fixture)
{
    selection_rng rng(42);
    constexpr int draws = 100'000;
    std::map<std::string, int> counts;
    for (int i = 0; i < draws; ++i)
    {
        auto d = select(premium, rng());
        BOOST_TEST_REQUIRE(d.has_value());
        BOOST_TEST_REQUIRE((d->reason == decision_reason::weighted));
        ++counts[d->provider_id];
    }
    BOOST_TEST(counts.size() == 2u);
    BOOST_TEST(counts["openai"] / double(draws) == 0.70, boost::test_tools::tolerance(0.01 / 0.70));
    BOOST_TEST(counts["anthropic"] / double(draws) == 0.30, boost::test_tools::tolerance(0.01 / 0.30));
}

BOOST_FIXTURE_TEST_CASE(legacy_weights_select_in_the_same_proportions, fixture)
{
    auto legacy = make_policy(R"({"weights":{"a":0.2,"b":0.5,"c":0.3}})");
    selection_rng rng(7);
    std::map<std::string, int> counts;
    for (int i = 0; i < 100'000; ++i)
        ++counts[select(legacy, rng())->provider_id];
    BOOST_TEST(counts["a"] / 1e5 == 0.2, boost::test_tools::tolerance(0.01 / 0.2));
    BOOST_TEST(counts["b"] / 1e5 == 0.5, boost::test_tools::tolerance(0.01 / 0.5));
    BOOST_TEST(counts["c"] / 1e5 == 0.3, boost::test_tools::tolerance(0.01 / 0.3));
}

BOOST_FIXTURE_TEST_CASE(draw_edges_stay_in_range, fixture)
{
    BOOST_TEST(select(premium, 0)->provider_id == "openai");
    BOOST_TEST(select(premium, ~std::uint64_t{0})->provider_id == "anthropic");
    limits.providers_deny = {"openai"};
    BOOST_TEST(select(premium, 0)->provider_id == "anthropic");
    BOOST_TEST(select(premium, ~std::uint64_t{0})->provider_id == "anthropic");
}

BOOST_FIXTURE_TEST_CASE(decision_carries_the_provider_figures_and_policy, fixture)
{
    auto d = select(premium, 0);
    BOOST_TEST_REQUIRE(d.has_value());
    BOOST_TEST(d->provider_id == "openai");
    BOOST_TEST(d->expected_latency_ms == 250);
    BOOST_TEST(d->expected_cost == 0.002);
    BOOST_TEST(d->policy_id == "premium");
    BOOST_TEST(d->policy_version == "3");
    BOOST_TEST(d->priority() == 50);

    context["status"] = "timeout";
    context["attempt"] = 1;
    limits.providers_deny = {"anthropic"};
    auto fb = select(premium, 0);
    BOOST_TEST(fb->provider_id == "local_llm");
    BOOST_TEST(fb->expected_latency_ms == 900);
    BOOST_TEST(fb->expected_cost == 0); // unset cost
}

BOOST_FIXTURE_TEST_CASE(fallback_rules_apply_in_order, fixture)
{
    context["status"] = "timeout";
    auto d = select(premium);
    BOOST_TEST(d->provider_id == "anthropic");
    BOOST_TEST((d->reason == decision_reason::fallback));
    BOOST_TEST(d->priority() == 25);

    // The first rule's target is excluded: the next matching rule wins.
    limits.providers_deny = {"anthropic"};
    BOOST_TEST(select(premium)->provider_id == "local_llm");

    // The operator-form rule.
    context.erase("status");
    limits.providers_deny.clear();
    context["attempt"] = 3;
    context["region"] = "uk";
    d = select(premium);
    BOOST_TEST(d->provider_id == "local_llm");
    BOOST_TEST((d->reason == decision_reason::fallback));
    context["region"] = "us";
    BOOST_TEST((select(premium)->reason == decision_reason::weighted));
}

BOOST_FIXTURE_TEST_CASE(constraints_exclude_providers, fixture)
{
    limits.max_latency_ms = 260;
    for (std::uint64_t r : {std::uint64_t{0}, ~std::uint64_t{0}})
        BOOST_TEST(select(premium, r)->provider_id == "openai");

    limits = {};
    limits.max_cost = 0.0025;
    BOOST_TEST(select(premium, ~std::uint64_t{0})->provider_id == "openai");

    limits = {};
    limits.providers_allow = std::vector<std::string>{"anthropic"};
    BOOST_TEST(select(premium, 0)->provider_id == "anthropic");

    // Unknown figures pass: local_llm has no cost, so max_cost cannot exclude it.
    limits = {};
    limits.providers_deny = {"openai", "anthropic"};
    limits.max_cost = 0.0001;
    auto d = select(premium);
    BOOST_TEST(d->provider_id == "local_llm");
    BOOST_TEST((d->reason == decision_reason::fallback));
}

BOOST_FIXTURE_TEST_CASE(decision_failed_explains_every_provider, fixture)
{
    limits.providers_deny = {"openai"};
    limits.max_latency_ms = 280;
    open_breakers = {"anthropic"}; // constraints are reported before the breaker
    auto d = select(premium);
    BOOST_TEST_REQUIRE(d.has_error());
    BOOST_TEST(d.error().message == "no provider satisfies policy 'premium' and the request's constraints");
    std::map<std::string, std::string> details;
    for (const auto& e : d.error().details)
        details[e.provider] = e.reason;
    BOOST_TEST(d.error().details.size() == 3u);
    BOOST_TEST(details["openai"] == "denied by providers_deny");
    BOOST_TEST(details["anthropic"] == "expected latency 300 ms exceeds max_latency_ms 280");
    BOOST_TEST(details["local_llm"] == "expected latency 900 ms exceeds max_latency_ms 280");

    limits = {};
    open_breakers = {"openai", "anthropic", "local_llm"};
    d = select(premium);
    BOOST_TEST_REQUIRE(d.has_error());
    BOOST_TEST(d.error().details.size() == 3u);
    for (const auto& e : d.error().details)
        BOOST_TEST(e.reason == "circuit breaker open");

    limits = {};
    limits.providers_allow = std::vector<std::string>{"mistral"};
    open_breakers.clear();
    d = select(premium);
    BOOST_TEST_REQUIRE(d.has_error());
    for (const auto& e : d.error().details)
        BOOST_TEST(e.reason == "not in providers_allow");

    limits = {};
    limits.max_cost = 0.001;
    limits.providers_deny = {"local_llm"};
    d = select(premium);
    BOOST_TEST_REQUIRE(d.has_error());
    BOOST_TEST(d.error().details.front().reason == "cost 0.002 exceeds max_cost 0.001");
}

BOOST_FIXTURE_TEST_CASE(a_weight_zero_provider_is_explained, fixture)
{
    auto p = make_policy(R"({"providers":[{"name":"a","weight":1},{"name":"idle","weight":0},{"name":"b"}],
                              "fallbacks":[{"when":{"status":"5xx"},"to":"b"}]})");
    limits.providers_deny = {"a"};
    auto d = select(p);
    BOOST_TEST_REQUIRE(d.has_error());
    std::map<std::string, std::string> details;
    for (const auto& e : d.error().details)
        details[e.provider] = e.reason;
    BOOST_TEST(details["idle"] == "weight is 0 and no fallback names it");
    BOOST_TEST(details["b"] == "no fallback rule naming it matched the request");
}

BOOST_FIXTURE_TEST_CASE(open_breakers_lead_to_circuit_breaker_fallback, fixture)
{
    open_breakers = {"openai", "anthropic"};
    auto d = select(premium);
    BOOST_TEST_REQUIRE(d.has_value());
    BOOST_TEST(d->provider_id == "local_llm");
    BOOST_TEST((d->reason == decision_reason::circuit_breaker_fallback));
    BOOST_TEST(d->priority() == 20);

    // One breaker open: the other weighted provider takes all traffic.
    open_breakers = {"openai"};
    for (std::uint64_t r : {std::uint64_t{0}, std::uint64_t{1} << 62, ~std::uint64_t{0}})
        BOOST_TEST(select(premium, r)->provider_id == "anthropic");

    // Constraints, not breakers, removed the weighted providers: plain fallback.
    open_breakers.clear();
    limits.providers_deny = {"openai", "anthropic"};
    BOOST_TEST((select(premium)->reason == decision_reason::fallback));
}

BOOST_FIXTURE_TEST_CASE(exclusion_reason_is_available_for_explaining_a_policy, fixture)
{
    limits.max_cost = 0.0025;
    BOOST_TEST(exclusion_reason(premium, "openai", limits, {}) == "");
    BOOST_TEST(exclusion_reason(premium, "anthropic", limits, {}) == "cost 0.003 exceeds max_cost 0.0025");
    BOOST_TEST(exclusion_reason(premium, "unknown", limits, {}) == "");
}

BOOST_AUTO_TEST_CASE(routing_context_lets_metadata_win)
{
    auto constraints_object = json::parse(R"({"max_cost":1,"region":"us","status":"ok"})").as_object();
    auto metadata = json::parse(R"({"region":"eu","user_id":"u-1"})").as_object();
    const routing_context context(&constraints_object, &metadata);
    for (const char* key : {"region", "max_cost", "user_id", "status"})
        BOOST_TEST_REQUIRE(context.find(key) != nullptr, key);
    BOOST_TEST(*context.find("region") == "eu");
    BOOST_TEST(*context.find("max_cost") == 1);
    BOOST_TEST(*context.find("user_id") == "u-1");
    BOOST_TEST(context.find("tier") == nullptr);
    BOOST_TEST(routing_context(nullptr, &metadata).find("status") == nullptr);
    BOOST_TEST(*routing_context(&constraints_object, nullptr).find("region") == "us");
    BOOST_TEST(routing_context().find("region") == nullptr);
    // A `when` condition reads the same merged view.
    auto when = compile_condition(json::parse(R"({"all":[{"==":[{"var":"region"},"eu"]},{"==":[{"var":"status"},"ok"]}]})"), "when");
    BOOST_TEST_REQUIRE(when.has_value());
    BOOST_TEST(when->evaluate(context));
    BOOST_TEST(!when->evaluate(routing_context(&constraints_object, nullptr)));
}

BOOST_AUTO_TEST_SUITE_END()
