#include <beamline/router/selection.hpp>
#include <beamline/router/sticky_store.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>
#include <set>

using namespace beamline::router;
namespace json = boost::json;
using namespace std::chrono_literals;
using time_point = sticky_store::clock::time_point;

namespace
{

const time_point t0{std::chrono::hours(1000)};

policy sticky_policy()
{
    auto r = parse_policy(R"({"version":"1",
        "providers":[{"name":"openai","weight":50},{"name":"anthropic","weight":50}],
        "sticky":{"enabled":true,"session_key":"user_id","ttl":"10m"}})",
                          "default");
    BOOST_TEST_REQUIRE(r.has_value());
    return std::move(*r);
}

struct sticky_fixture
{
    policy pol = sticky_policy();
    sticky_store store;
    json::object context{{"user_id", "u-1"}};
    constraints limits;
    std::set<std::string, std::less<>> open_breakers;

    selection_result select(std::uint64_t random, time_point now)
    {
        auto is_open = [this](std::string_view provider) { return open_breakers.contains(provider); };
        return select_provider(pol, {context, limits, random, is_open, &store, now});
    }
};

constexpr std::uint64_t picks_first = 0;
constexpr std::uint64_t picks_second = ~std::uint64_t{0};

} // namespace

BOOST_AUTO_TEST_SUITE(selection_sticky)

BOOST_FIXTURE_TEST_CASE(a_session_stays_on_its_provider, sticky_fixture)
{
    auto first = select(picks_second, t0);
    BOOST_TEST(first->provider_id == "anthropic");
    BOOST_TEST((first->reason == decision_reason::weighted));

    auto again = select(picks_first, t0 + 1min);
    BOOST_TEST(again->provider_id == "anthropic");
    BOOST_TEST((again->reason == decision_reason::sticky));
    BOOST_TEST(again->priority() == 100);

    // Another session is independent.
    context["user_id"] = "u-2";
    BOOST_TEST(select(picks_first, t0 + 1min)->provider_id == "openai");
    // Integer session values bind too.
    context["user_id"] = 12345;
    select(picks_second, t0);
    BOOST_TEST((select(picks_first, t0 + 1s)->reason == decision_reason::sticky));
}

BOOST_FIXTURE_TEST_CASE(a_binding_expires_after_the_policy_ttl, sticky_fixture)
{
    select(picks_second, t0);
    BOOST_TEST((select(picks_first, t0 + 9min)->reason == decision_reason::sticky));
    // The hit at 9 min refreshed the binding until 19 min.
    BOOST_TEST((select(picks_first, t0 + 18min)->reason == decision_reason::sticky));
    auto after = select(picks_first, t0 + 28min + 1s);
    BOOST_TEST((after->reason == decision_reason::weighted));
    BOOST_TEST(after->provider_id == "openai");
}

BOOST_FIXTURE_TEST_CASE(an_excluded_binding_is_skipped_and_rebound, sticky_fixture)
{
    select(picks_second, t0);
    open_breakers = {"anthropic"};
    auto d = select(picks_second, t0 + 1s);
    BOOST_TEST(d->provider_id == "openai");
    BOOST_TEST((d->reason == decision_reason::weighted));
    open_breakers.clear();
    limits.providers_deny = {"anthropic"};
    BOOST_TEST((select(picks_second, t0 + 2s)->reason == decision_reason::sticky));
    BOOST_TEST(select(picks_second, t0 + 2s)->provider_id == "openai");
}

BOOST_FIXTURE_TEST_CASE(a_binding_to_a_provider_the_policy_dropped_is_ignored, sticky_fixture)
{
    select(picks_second, t0);
    auto edited =
        parse_policy(R"({"version":"2","providers":[{"name":"openai","weight":1},{"name":"anthropic"}],
        "sticky":{"enabled":true,"session_key":"user_id","ttl":"10m"}})",
                     "default");
    BOOST_TEST_REQUIRE(edited.has_value());
    pol = std::move(*edited);
    auto d = select(picks_second, t0 + 1s);
    BOOST_TEST(d->provider_id == "openai");
    BOOST_TEST((d->reason == decision_reason::weighted));
    BOOST_TEST(d->policy_version == "2");
}

BOOST_FIXTURE_TEST_CASE(no_session_value_means_no_binding, sticky_fixture)
{
    context.erase("user_id");
    select(picks_second, t0);
    BOOST_TEST(store.size() == 0u);
    pol.sticky.enabled = false;
    context["user_id"] = "u-1";
    select(picks_second, t0);
    BOOST_TEST(store.size() == 0u);
}

BOOST_AUTO_TEST_CASE(bindings_are_per_policy)
{
    sticky_store store;
    store.bind("a", "s", "openai", t0, 1min);
    store.bind("b", "s", "anthropic", t0, 1min);
    BOOST_TEST(*store.peek("a", "s", t0) == "openai");
    BOOST_TEST(*store.peek("b", "s", t0) == "anthropic");
    store.forget_policy("a");
    BOOST_TEST(!store.peek("a", "s", t0));
    BOOST_TEST(store.size() == 1u);
}

BOOST_AUTO_TEST_CASE(the_store_is_bounded_expired_first_then_oldest)
{
    sticky_store store(3);
    store.bind("p", "short", "x", t0, 10s);
    store.bind("p", "old", "x", t0, 1h);
    store.bind("p", "newer", "x", t0 + 1s, 1h);
    BOOST_TEST(store.size() == 3u);

    // Full, one binding expired: it goes first.
    store.bind("p", "fresh", "x", t0 + 20s, 1h);
    BOOST_TEST(store.size() == 3u);
    BOOST_TEST(!store.peek("p", "short", t0));
    BOOST_TEST(store.peek("p", "old", t0 + 20s).has_value());

    // Full, nothing expired: the oldest goes.
    store.bind("p", "latest", "x", t0 + 30s, 1h);
    BOOST_TEST(store.size() == 3u);
    BOOST_TEST(!store.peek("p", "old", t0 + 30s));
    BOOST_TEST(store.peek("p", "newer", t0 + 30s).has_value());
    BOOST_TEST(store.peek("p", "latest", t0 + 30s).has_value());

    // A flood of fresh ids never grows the store.
    for (int i = 0; i < 10'000; ++i)
        store.bind("p", "flood-" + std::to_string(i), "x", t0 + 40s, 1h);
    BOOST_TEST(store.size() == 3u);
    BOOST_TEST(store.purge_expired(t0 + 2h) == 3u);
    BOOST_TEST(store.size() == 0u);
}

BOOST_AUTO_TEST_CASE(a_hit_moves_the_expiry_even_when_it_leaves_the_index_as_it_was)
{
    // A hit within an eighth of the TTL moves only the binding's own expiry; purging and eviction
    // must still go by that expiry, not by the older time the index holds.
    sticky_store store(2);
    store.bind("p", "a", "x", t0, 1h);
    store.bind("p", "b", "x", t0 + 1s, 1h);
    BOOST_TEST(store.touch("p", "a", t0 + 2s, 1h).has_value()); // a now ends after b
    store.bind("p", "c", "x", t0 + 3s, 1h);                     // full: b, nearest its end, goes
    BOOST_TEST(store.peek("p", "a", t0 + 3s).has_value());
    BOOST_TEST(!store.peek("p", "b", t0 + 3s));
    // At t0 + 1h, a (touched at t0 + 2s) and c (bound at t0 + 3s) are both alive.
    BOOST_TEST(store.purge_expired(t0 + 1h) == 0u);
    BOOST_TEST(store.purge_expired(t0 + 1h + 2s) == 1u);
    BOOST_TEST(!store.peek("p", "a", t0 + 1h + 2s));
    BOOST_TEST(store.peek("p", "c", t0 + 1h + 2s).has_value());
    BOOST_TEST(store.purge_expired(t0 + 1h + 3s) == 1u);
}

BOOST_AUTO_TEST_CASE(overlong_session_values_are_not_bound)
{
    sticky_store store;
    store.bind("p", std::string(sticky_store::max_session_bytes + 1, 's'), "x", t0, 1h);
    BOOST_TEST(store.size() == 0u);
    store.bind("p", std::string(sticky_store::max_session_bytes, 's'), "x", t0, 1h);
    BOOST_TEST(store.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
