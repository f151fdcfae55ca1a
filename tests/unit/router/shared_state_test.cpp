// The pure parts of router.state=jetstream: what the KV buckets hold, and the sticky store as a
// cache of a shared store (a fake one here: the shared_sticky interface is all the store sees).
#include <beamline/router/shared_state.hpp>
#include <beamline/router/sticky_store.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
#include <vector>

using namespace beamline::router;
using namespace std::chrono_literals;
using time_point = sticky_store::clock::time_point;

namespace
{

const time_point t0{std::chrono::hours(1000)};

/// Remembers what it was told; answers from a map the test fills.
class fake_shared final : public shared_sticky
{
public:
    struct told
    {
        std::string tenant, policy, session, provider;
        std::chrono::milliseconds ttl;
    };

    std::optional<shared_binding> find(std::string_view tenant, std::string_view policy, std::string_view session) override
    {
        ++finds;
        auto it = known.find(sticky_record_key(tenant, policy, session));
        if (it == known.end()) return std::nullopt;
        return it->second;
    }
    void bound(std::string_view tenant, std::string_view policy, std::string_view session, std::string_view provider,
               std::chrono::milliseconds ttl) override
    {
        writes.push_back({std::string(tenant), std::string(policy), std::string(session), std::string(provider), ttl});
    }

    std::map<std::string, shared_binding> known;
    std::vector<told> writes;
    int finds = 0;
};

} // namespace

BOOST_AUTO_TEST_SUITE(kv_records)

BOOST_AUTO_TEST_CASE(an_idempotency_record_round_trips_with_its_fingerprint)
{
    idempotency_record r;
    r.fingerprint = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
    r.reply = R"({"ok":true,"note":"quotes \" and \\ and é"})";
    auto decoded = decode_idempotency_record(encode_idempotency_record(r));
    BOOST_TEST_REQUIRE(decoded.has_value());
    BOOST_TEST(decoded->fingerprint.high == r.fingerprint.high);
    BOOST_TEST(decoded->fingerprint.low == r.fingerprint.low);
    BOOST_TEST(decoded->reply == r.reply);
}

BOOST_AUTO_TEST_CASE(a_damaged_idempotency_record_is_refused)
{
    BOOST_TEST(!decode_idempotency_record("not json").has_value());
    BOOST_TEST(!decode_idempotency_record(R"({"reply":"x"})").has_value());
    BOOST_TEST(!decode_idempotency_record(R"({"fingerprint":"12","reply":"x"})").has_value());
    BOOST_TEST(!decode_idempotency_record(R"({"fingerprint":"zz23456789abcdef0123456789abcdef","reply":"x"})").has_value());
}

BOOST_AUTO_TEST_CASE(a_sticky_record_keeps_its_expiry_in_the_value)
{
    sticky_record r{"acme", "premium", "session \x01 any bytes", "openai", 1'700'000'123'456};
    auto decoded = decode_sticky_record(encode_sticky_record(r));
    BOOST_TEST_REQUIRE(decoded.has_value());
    BOOST_TEST(decoded->tenant_id == "acme");
    BOOST_TEST(decoded->policy_id == "premium");
    BOOST_TEST(decoded->session == r.session);
    BOOST_TEST(decoded->provider == "openai");
    BOOST_TEST(decoded->expires_at_unix_ms == 1'700'000'123'456);
    BOOST_TEST(!decode_sticky_record(R"({"tenant_id":"a","policy_id":"p","session":"s","provider":"x"})").has_value());
    BOOST_TEST(!decode_sticky_record(R"({"tenant_id":"a","policy_id":"p","session":"s","provider":"",
                                         "expires_at_unix_ms":5})").has_value());
}

BOOST_AUTO_TEST_CASE(keys_are_valid_kv_keys_whatever_the_idempotency_key_or_session_holds)
{
    BOOST_TEST(idempotency_record_key("acme", "order 42/é") == "acme.6f72646572203432" "2fc3a9");
    BOOST_TEST(sticky_record_key("acme", "premium", "u.1") == "acme.premium.752e31");
    BOOST_TEST(sticky_record_key("acme", "premium", "") == "acme.premium._");
}

BOOST_AUTO_TEST_CASE(a_policy_key_says_where_the_tenant_ends)
{
    BOOST_TEST(policy_record_key("acme", "premium.v2").value_or("") == "acme.premium.v2");
    BOOST_TEST(!policy_record_key("acme.eu", "premium").has_value());
    BOOST_TEST(!policy_record_key("acme", "..").has_value());
    BOOST_TEST(!policy_record_key("acme", "a..b").has_value());
    auto parsed = parse_policy_record_key("acme.premium.v2");
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->tenant_id == "acme");
    BOOST_TEST(parsed->policy_id == "premium.v2");
    BOOST_TEST(!parse_policy_record_key("acme").has_value());
    BOOST_TEST(!parse_policy_record_key("acme.").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sticky_store_shared)

BOOST_AUTO_TEST_CASE(a_miss_adopts_a_binding_another_router_made_without_rewriting_it)
{
    fake_shared shared;
    shared.known[sticky_record_key("acme", "p", "s1")] = shared_binding{"anthropic", 50s};
    sticky_store store;
    store.share(&shared, "acme");
    auto bound = store.touch("p", "s1", t0, 60s);
    BOOST_TEST_REQUIRE(bound.has_value());
    BOOST_TEST(*bound == "anthropic");
    // 50 s left of 60: more than half, so no write.
    BOOST_TEST(shared.writes.empty());
    // Known now: the next hit does not even ask.
    shared.finds = 0;
    BOOST_TEST(store.touch("p", "s1", t0 + 1s, 60s).value_or("") == "anthropic");
    BOOST_TEST(shared.finds == 0);
}

BOOST_AUTO_TEST_CASE(a_new_binding_is_told_and_a_hot_one_is_refreshed_once_per_half_ttl)
{
    fake_shared shared;
    sticky_store store;
    store.share(&shared, "acme");
    BOOST_TEST(!store.touch("p", "s1", t0, 60s).has_value());
    store.bind("p", "s1", "openai", t0, 60s);
    BOOST_TEST_REQUIRE(shared.writes.size() == 1u);
    BOOST_TEST(shared.writes[0].tenant == "acme");
    BOOST_TEST(shared.writes[0].provider == "openai");
    BOOST_TEST(shared.writes[0].ttl.count() == 60'000);
    for (auto at = t0 + 1s; at < t0 + 30s; at += 1s)
        store.touch("p", "s1", at, 60s);
    BOOST_TEST(shared.writes.size() == 1u);
    store.touch("p", "s1", t0 + 31s, 60s);
    BOOST_TEST(shared.writes.size() == 2u);
}

BOOST_AUTO_TEST_CASE(an_expired_shared_binding_is_not_adopted)
{
    fake_shared shared;
    shared.known[sticky_record_key("acme", "p", "s1")] = shared_binding{"anthropic", 0ms};
    sticky_store store;
    store.share(&shared, "acme");
    BOOST_TEST(!store.touch("p", "s1", t0, 60s).has_value());
}

BOOST_AUTO_TEST_CASE(an_unshared_store_asks_nobody)
{
    sticky_store store;
    store.bind("p", "s1", "openai", t0, 60s);
    BOOST_TEST(store.touch("p", "s1", t0 + 1s, 60s).value_or("") == "openai");
    BOOST_TEST(!store.touch("p", "s2", t0 + 1s, 60s).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
