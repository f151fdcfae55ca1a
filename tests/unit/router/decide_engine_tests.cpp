// decide_engine on its own: idempotent replay and conflict, TTL expiry on a fake clock, which
// outcomes are remembered, and withdrawing a decision whose ExecAssignment was refused.
#include "pipeline_fixtures.hpp"

#include <boost/test/unit_test.hpp>

using namespace beamline::router;
using namespace beamline::router::test;
using namespace std::chrono_literals;

namespace
{

struct engine_fixture
{
    policy_files policies;
    decide_engine engine{policies.store, {}};
    fake_clock clock;
    tenant_limits limits = [] {
        tenant_limits l;
        l.idempotency_ttl = 10s;
        return l;
    }();
    tenant_state acme{"acme", limits, 42, clock.now};

    engine_fixture()
    {
        policies.put("acme", "default", two_provider_policy);
    }

    decide_outcome run(const std::string& body)
    {
        decide_outcome out;
        auto request = engine.intake(body, {"beamline.router.v1.decide"}, out);
        if (request) engine.decide(*request, acme, clock.now, out);
        return out;
    }
};

const std::string keyed = R"("idempotency_key":"k-1")";

} // namespace

BOOST_AUTO_TEST_SUITE(decide_engine_suite)

BOOST_FIXTURE_TEST_CASE(a_decision_after_a_reload_uses_the_policy_now_in_service, engine_fixture)
{
    // The tenant keeps the policy its last decision used: a reload, a replacement or a removal in
    // between must be seen by the next decision all the same.
    policies.put("acme", "default", one_provider_policy);
    BOOST_TEST(run(request_json("acme", "r-1")).provider_id == "openai");
    policies.put("acme", "default", R"({"version":"4","providers":[{"name":"anthropic","weight":1}]})");
    BOOST_TEST(run(request_json("acme", "r-2")).provider_id == "anthropic");
    BOOST_TEST((run(request_json("acme", "r-3", R"("policy_id":"premium")")).error == reply_error::policy_not_found));
    policies.put("acme", "premium", one_provider_policy);
    BOOST_TEST(run(request_json("acme", "r-4", R"("policy_id":"premium")")).provider_id == "openai");
    BOOST_TEST(run(request_json("acme", "r-5")).provider_id == "anthropic");
    std::filesystem::remove(policies.dir / "acme" / "default.json");
    BOOST_TEST_REQUIRE(policies.store.load_directory().ok());
    BOOST_TEST((run(request_json("acme", "r-6")).error == reply_error::policy_not_found));
}

BOOST_FIXTURE_TEST_CASE(a_repeat_with_the_same_key_replays_the_first_reply_byte_for_byte, engine_fixture)
{
    auto first = run(request_json("acme", "r-1", keyed));
    BOOST_TEST_REQUIRE(!first.error);
    BOOST_TEST(!first.idempotent_replay);
    // A retry renews its request id; it is still the same request.
    for (int i = 0; i < 20; ++i)
    {
        auto again = run(request_json("acme", "r-retry-" + std::to_string(i), keyed));
        BOOST_TEST(again.idempotent_replay);
        BOOST_TEST(!again.error);
        BOOST_TEST(again.reply == first.reply);
    }
}

BOOST_FIXTURE_TEST_CASE(a_different_request_under_a_used_key_is_an_idempotency_violation, engine_fixture)
{
    BOOST_TEST_REQUIRE(!run(request_json("acme", "r-1", keyed)).error);
    auto changed = run(request_json("acme", "r-2", keyed + R"(,"metadata":{"user":"u2"})"));
    BOOST_TEST_REQUIRE(changed.error.has_value());
    BOOST_TEST(to_string(*changed.error) == "invalid_request");
    BOOST_TEST_REQUIRE(changed.intake.has_value());
    BOOST_TEST(to_string(*changed.intake) == "IDEMPOTENCY_VIOLATION");
    BOOST_TEST(!changed.idempotent_replay);
    BOOST_TEST(changed.reply.find("idempotency_key") != std::string::npos, changed.reply);
}

BOOST_FIXTURE_TEST_CASE(a_stored_reply_expires_after_its_ttl, engine_fixture)
{
    auto first = run(request_json("acme", "r-1", keyed));
    BOOST_TEST_REQUIRE(!first.error);
    clock.advance(9s);
    BOOST_TEST(run(request_json("acme", "r-2", keyed)).idempotent_replay);
    clock.advance(1s); // ten seconds after the first decision: gone
    auto fresh = run(request_json("acme", "r-3", keyed));
    BOOST_TEST(!fresh.idempotent_replay);
    BOOST_TEST(!fresh.error);
    BOOST_TEST(fresh.reply.find("\"r-3\"") != std::string::npos, fresh.reply);
    // ...and the fresh decision is the one remembered now, with a TTL of its own.
    clock.advance(9s);
    auto replay = run(request_json("acme", "r-4", keyed));
    BOOST_TEST(replay.idempotent_replay);
    BOOST_TEST(replay.reply == fresh.reply);
}

BOOST_FIXTURE_TEST_CASE(a_failed_decision_is_not_remembered, engine_fixture)
{
    const std::string deny_all = keyed + R"(,"constraints":{"providers_deny":["openai","anthropic"]})";
    auto failed = run(request_json("acme", "r-1", deny_all));
    BOOST_TEST_REQUIRE(failed.error.has_value());
    BOOST_TEST(to_string(*failed.error) == "decision_failed");
    auto again = run(request_json("acme", "r-2", deny_all));
    BOOST_TEST(!again.idempotent_replay);
    BOOST_TEST(again.reply.find("\"r-2\"") != std::string::npos, again.reply);
}

BOOST_FIXTURE_TEST_CASE(the_same_key_in_another_tenant_is_another_key, engine_fixture)
{
    policies.put("globex", "default", one_provider_policy);
    tenant_state globex("globex", limits, 7, clock.now);
    BOOST_TEST_REQUIRE(!run(request_json("acme", "r-1", keyed)).error);
    decide_outcome out;
    auto request = engine.intake(request_json("globex", "r-1", keyed + R"(,"metadata":{"x":1})"),
                                 {"beamline.router.v1.decide"}, out);
    BOOST_TEST_REQUIRE(request.has_value());
    engine.decide(*request, globex, clock.now, out);
    BOOST_TEST(!out.error);
    BOOST_TEST(!out.idempotent_replay);
}

BOOST_FIXTURE_TEST_CASE(withdrawing_a_decision_forgets_it_and_replies_with_the_refusal, engine_fixture)
{
    decide_outcome out;
    auto request = engine.intake(request_json("acme", "r-1", keyed + R"(,"push_assignment":true)"),
                                 {"beamline.router.v1.decide"}, out);
    BOOST_TEST_REQUIRE(request.has_value());
    engine.decide(*request, acme, clock.now, out);
    BOOST_TEST_REQUIRE(out.assignment);
    engine.withdraw(*request, acme, reply_error::invalid_request, intake_code::schema_validation_failed,
                    "too big", 0, out);
    BOOST_TEST(!out.assignment);
    BOOST_TEST(to_string(*out.error) == "invalid_request");
    auto reply = boost::json::parse(out.reply).as_object();
    BOOST_TEST(reply.at("ok") == false);
    BOOST_TEST(reply.at("error").at("intake_error_code").as_string() == "SCHEMA_VALIDATION_FAILED");
    BOOST_TEST(reply.at("error").at("message").as_string() == "too big");
    BOOST_TEST(reply.at("context").at("request_id").as_string() == "r-1");
    // The retry is decided again (and would push again), not replayed.
    auto retry = run(request_json("acme", "r-2", keyed + R"(,"push_assignment":true)"));
    BOOST_TEST(!retry.idempotent_replay);
    BOOST_TEST(retry.assignment);
}

BOOST_FIXTURE_TEST_CASE(a_tenant_bucket_starts_full_at_the_injected_time, engine_fixture)
{
    tenant_limits limited = limits;
    limited.tenant_rps = 1;
    limited.tenant_burst = 2;
    tenant_state t("acme", limited, 1, clock.now);
    auto decide_at = [&](const std::string& id) {
        decide_outcome out;
        auto request = engine.intake(request_json("acme", id), {"beamline.router.v1.decide"}, out);
        engine.decide(*request, t, clock.now, out);
        return out;
    };
    BOOST_TEST(!decide_at("r-1").error);
    BOOST_TEST(!decide_at("r-2").error);
    auto third = decide_at("r-3");
    BOOST_TEST_REQUIRE(third.error.has_value());
    BOOST_TEST(to_string(*third.error) == "rate_limited");
    BOOST_TEST(third.retry_after_ms == 1000u);
    clock.advance(1s);
    BOOST_TEST(!decide_at("r-4").error);
}

BOOST_AUTO_TEST_SUITE_END()
