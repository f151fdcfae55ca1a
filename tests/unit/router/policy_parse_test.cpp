#include <beamline/router/policy.hpp>
#include "source_tree.hpp"
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>

using namespace beamline::router;
using namespace std::chrono_literals;

namespace
{

policy parse_ok(std::string_view json)
{
    auto r = parse_policy(json, "p");
    BOOST_TEST_REQUIRE(r.has_value(), "unexpected error: " << (r ? "" : r.error().message));
    return std::move(*r);
}

std::string parse_error(std::string_view json)
{
    auto r = parse_policy(json, "p");
    BOOST_TEST_REQUIRE(r.has_error(), "expected an error for " << json);
    return r.error().message;
}

} // namespace

BOOST_AUTO_TEST_SUITE(policy_parse)

BOOST_AUTO_TEST_CASE(canonical_and_legacy_dialects_give_the_same_model)
{
    auto canonical = parse_ok(R"({"version":"2",
        "providers":[{"name":"openai","weight":70},{"name":"anthropic","weight":30}],
        "fallbacks":[{"when":{"status":["timeout"]},"to":"local_llm"}],
        "fallback":{"provider":"local_llm"},
        "sticky":{"enabled":true,"session_key":"user_id","ttl":"1h"}})");
    auto legacy = parse_ok(R"({"version":"2",
        "weights":{"openai":0.7,"anthropic":0.3},
        "fallback":{"provider":"local_llm","conditions":["timeout"]},
        "sticky":{"enabled":true,"session_key":"user_id","ttl_seconds":3600}})");

    BOOST_TEST(canonical.version == legacy.version);
    BOOST_TEST_REQUIRE(canonical.providers.size() == legacy.providers.size());
    for (std::size_t i = 0; i < canonical.providers.size(); ++i)
    {
        BOOST_TEST(canonical.providers[i].name == legacy.providers[i].name);
        BOOST_TEST(canonical.providers[i].share == legacy.providers[i].share,
                   boost::test_tools::tolerance(1e-12));
    }
    BOOST_TEST(canonical.providers[0].share == 0.7, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(canonical.sticky.enabled == legacy.sticky.enabled);
    BOOST_TEST(canonical.sticky.session_key == legacy.sticky.session_key);
    BOOST_TEST(canonical.sticky.ttl.count() == legacy.sticky.ttl.count());
    BOOST_TEST((canonical.fallback_provider == legacy.fallback_provider));
    BOOST_TEST_REQUIRE(canonical.fallbacks.size() == 1u);
    BOOST_TEST_REQUIRE(legacy.fallbacks.size() == 1u);
    BOOST_TEST(canonical.fallbacks[0].to == legacy.fallbacks[0].to);
    BOOST_TEST(canonical.fallbacks[0].when.source() == legacy.fallbacks[0].when.source());
}

BOOST_AUTO_TEST_CASE(reads_every_section)
{
    auto p = parse_ok(R"({"version":3,
        "providers":[{"name":"openai","weight":70,"expected_latency_ms":250,"cost":0.002},
                     {"name":"local_llm"}],
        "rate_limit":{"enabled":true,"requests_per_second":20,"burst":5},
        "circuit_breaker":{"enabled":true,"failure_threshold":3,"timeout_ms":1000,"min_requests":10,
                           "error_rate_threshold":0.25,"window_seconds":30},
        "pre":[{"id":"normalize_text"}],"metadata":{"owner":"ops"}})");
    BOOST_TEST(p.id == "p");
    BOOST_TEST(p.version == "3");
    BOOST_TEST(*p.providers[0].expected_latency_ms == 250);
    BOOST_TEST(*p.providers[0].cost == 0.002);
    BOOST_TEST(p.providers[1].weight == 0);
    BOOST_TEST(!p.providers[1].expected_latency_ms.has_value());
    BOOST_TEST(p.total_weight == 70);
    BOOST_TEST(p.cumulative_weights == (std::vector<double>{70, 70}));
    BOOST_TEST(p.rate_limit.enabled);
    BOOST_TEST(p.rate_limit.requests_per_second == 20);
    BOOST_TEST(p.rate_limit.burst == 5);
    BOOST_TEST(p.circuit_breaker.failure_threshold == 3);
    BOOST_TEST(p.circuit_breaker.timeout.count() == 1000);
    BOOST_TEST(p.circuit_breaker.min_requests == 10);
    BOOST_TEST(p.circuit_breaker.error_rate_threshold == 0.25);
    BOOST_TEST(p.circuit_breaker.window.count() == 30);
    BOOST_TEST(p.ignored_keys == (std::vector<std::string>{"pre", "metadata"}),
               boost::test_tools::per_element());
    BOOST_TEST(p.extra.contains("metadata"));
    BOOST_TEST(!p.sticky.enabled);
    BOOST_TEST(p.sticky.session_key == "session_id");
}

BOOST_AUTO_TEST_CASE(ttl_strings)
{
    // The common duration grammar (docs/policies.md), with a unit required and a bound of 366 days.
    auto ttl_of = [](std::string_view text)
    {
        return parse_ok(R"({"weights":{"a":1},"sticky":{"ttl":")" + std::string(text) + R"("}})")
            .sticky.ttl.count();
    };
    BOOST_TEST(ttl_of("500ms") == 500);
    BOOST_TEST(ttl_of("30s") == 30'000);
    BOOST_TEST(ttl_of("10m") == 600'000);
    BOOST_TEST(ttl_of("1h") == 3'600'000);
    BOOST_TEST(ttl_of("2d") == 172'800'000);
    BOOST_TEST(ttl_of("5 s") == 5'000);
    BOOST_TEST(ttl_of("366d") == 366LL * 86'400'000);
    for (std::string_view bad : {"10", "0s", "-5s", "1.5s", "367d", "99999999999999999999h", "5x"})
    {
        auto r = parse_policy(R"({"weights":{"a":1},"sticky":{"ttl":")" + std::string(bad) + R"("}})");
        BOOST_TEST(!r, bad);
    }
    BOOST_TEST(parse_ok(R"({"weights":{"a":1},"sticky":{"ttl":90}})").sticky.ttl.count() == 90'000);
}

BOOST_AUTO_TEST_CASE(a_fallback_only_policy_is_valid)
{
    auto p = parse_ok(R"({"fallback":"local_llm"})");
    BOOST_TEST(*p.fallback_provider == "local_llm");
    BOOST_TEST(p.total_weight == 0);
    auto q = parse_ok(R"({"fallbacks":[{"to":"a"}]})");
    BOOST_TEST(q.fallbacks.size() == 1u);
}

BOOST_AUTO_TEST_CASE(errors_name_the_field)
{
    struct error_case
    {
        const char* json;
        const char* expected;
    };
    const error_case cases[] = {
        {R"({"providers":[{"name":"a","weight":1},{"name":"b","weight":-1}]})",
         "providers[1].weight must be a non-negative number"},
        {R"({"providers":[{"name":"a","weight":"x"}]})", "providers[0].weight must be a non-negative number"},
        {R"({"providers":[{"weight":1}]})", "providers[0].name must be a non-empty string"},
        {R"({"providers":[{"name":"","weight":1}]})", "providers[0].name must be a non-empty string"},
        {R"({"providers":[{"name":"a","weight":1},{"name":"a","weight":2}]})",
         "providers[1].name repeats \"a\""},
        {R"({"providers":[{"name":"a","weight":1,"cost":"cheap"}]})", "providers[0].cost must be a number"},
        {R"({"providers":[{"name":"a","weight":1,"expected_latency_ms":-3}]})",
         "providers[0].expected_latency_ms must be between"},
        {R"({"providers":{"a":1}})", "providers must be an array"},
        {R"({"weights":{"a":-0.5}})", "weights.a must be a non-negative number"},
        {R"({"weights":{"a":1},"providers":[]})", "both providers and weights"},
        {R"({"providers":[{"name":"a","weight":0}]})", "policy selects nothing"},
        {R"({})", "policy selects nothing"},
        {R"({"weights":{"a":1},"fallbacks":[{"when":{}}]})",
         "fallbacks[0].to must be a non-empty provider name"},
        {R"({"weights":{"a":1},"fallbacks":[{"when":{"~=":[1,2]},"to":"b"}]})", "fallbacks[0].when"},
        {R"({"weights":{"a":1},"fallback":{"conditions":["x"]}})", "fallback.provider must be"},
        {R"({"weights":{"a":1},"fallback":{"provider":"b","conditions":"x"}})",
         "fallback.conditions must be"},
        {R"({"weights":{"a":1},"sticky":{"enabled":"yes"}})", "sticky.enabled must be true or false"},
        {R"({"weights":{"a":1},"sticky":{"ttl":"10x"}})", "sticky.ttl: \"10x\" is not a positive duration"},
        {R"({"weights":{"a":1},"sticky":{"ttl_seconds":0}})", "sticky.ttl_seconds must be between"},
        {R"({"weights":{"a":1},"sticky":{"ttl":"1m","ttl_seconds":60}})", "both ttl and ttl_seconds"},
        {R"({"weights":{"a":1},"sticky":{"session_key":""}})", "sticky.session_key must be a string"},
        {R"({"weights":{"a":1},"rate_limit":{"requests_per_second":0}})",
         "rate_limit.requests_per_second must be"},
        {R"({"weights":{"a":1},"rate_limit":{"burst":"many"}})", "rate_limit.burst must be a number"},
        {R"({"weights":{"a":1},"circuit_breaker":{"failure_threshold":2.5}})",
         "circuit_breaker.failure_threshold must be a whole number"},
        {R"({"weights":{"a":1},"circuit_breaker":{"error_rate_threshold":2}})",
         "circuit_breaker.error_rate_threshold must be between 0 and 1"},
        {R"({"weights":{"a":1},"version":[]})", "version must be a non-empty string"},
        {R"([1,2])", "policy must be a JSON object"},
        {R"({"weights":)", "policy is not valid JSON"},
        {R"({"weights":{"a":1}} trailing)", "unexpected data after the document"},
        {"", "policy is not valid JSON"},
    };
    for (const auto& c : cases)
    {
        auto message = parse_error(c.json);
        BOOST_TEST(message.find(c.expected) != std::string::npos,
                   "for " << c.json << "\n  got: " << message << "\n  expected to contain: " << c.expected);
    }
}

BOOST_AUTO_TEST_CASE(bundled_example_policies_parse)
{
    auto dir = beamline::test::source_tree() / "config/policies";
    std::size_t count = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
    {
        if (entry.path().extension() != ".json") continue;
        std::ifstream in(entry.path());
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto r = parse_policy(text, entry.path().stem().string());
        BOOST_TEST(r.has_value(), entry.path() << ": " << (r ? "" : r.error().message));
        ++count;
    }
    BOOST_TEST(count >= 3u);
}

BOOST_AUTO_TEST_SUITE_END()
