#include "beamline/router/decide_json.hpp"
#include "beamline/router/decide_reply.hpp"
#include "decide_fixtures.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace beamline::router;
using namespace beamline::router::test;
namespace json = boost::json;

namespace
{

decision weighted_openai()
{
    decision d;
    d.provider_id = "openai";
    d.reason = decision_reason::weighted;
    d.expected_latency_ms = 250;
    d.expected_cost = 0.002;
    d.policy_id = "default";
    d.policy_version = "3";
    return d;
}

/// Parses `text` strictly: anything that is not valid JSON fails the test.
json::object parsed(const std::string& text)
{
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    BOOST_TEST_REQUIRE(!ec, "reply is valid JSON: " << text);
    BOOST_TEST_REQUIRE(v.is_object());
    return v.as_object();
}

/// No value anywhere in the reply is null or the string "undefined".
void check_no_placeholders(const json::value& v)
{
    BOOST_TEST(!v.is_null());
    if (v.is_string()) BOOST_TEST(v.get_string() != "undefined");
    if (v.is_array())
        for (const auto& e : v.get_array())
            check_no_placeholders(e);
    if (v.is_object())
        for (const auto& m : v.get_object())
            check_no_placeholders(m.value());
}

json::object error_reply_for(const error_reply& e, const reply_context& ctx = {"r-1", {}, {}})
{
    std::string out;
    append_decide_error(out, e, ctx);
    json::object reply = parsed(out);
    check_no_placeholders(reply);
    BOOST_TEST(reply.at("ok") == false);
    return reply;
}

} // namespace

BOOST_AUTO_TEST_SUITE(decide_reply)

BOOST_AUTO_TEST_CASE(success_reply_matches_the_contract_example)
{
    std::string out;
    append_decide_success(out, weighted_openai(), {"r-1", "acme", "4bf92f3577b34da6a3ce929d0e0e4736"});
    BOOST_TEST(
        out ==
        R"({"ok":true,"decision":{"provider_id":"openai","priority":50,"reason":"weighted",)"
        R"("expected_latency_ms":250,"expected_cost":0.002,"policy_id":"default","policy_version":"3"},)"
        R"("context":{"request_id":"r-1","tenant_id":"acme","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}})");

    json::object reply = parsed(out);
    check_no_placeholders(reply);
    BOOST_TEST(reply.at("ok") == true);
    const json::object& d = reply.at("decision").as_object();
    BOOST_TEST(d.at("provider_id") == "openai");
    BOOST_TEST(d.at("priority") == 50);
    BOOST_TEST(d.at("reason") == "weighted");
    BOOST_TEST(d.at("expected_latency_ms") == 250);
    BOOST_TEST(d.at("expected_cost").as_double() == 0.002);
    BOOST_TEST(d.at("policy_id") == "default");
    BOOST_TEST(d.at("policy_version") == "3");
    const json::object& ctx = reply.at("context").as_object();
    BOOST_TEST(ctx.at("request_id") == "r-1");
    BOOST_TEST(ctx.at("tenant_id") == "acme");
    BOOST_TEST(ctx.at("trace_id") == "4bf92f3577b34da6a3ce929d0e0e4736");
}

BOOST_AUTO_TEST_CASE(every_reason_carries_its_priority)
{
    const std::pair<decision_reason, int> expected[] = {{decision_reason::sticky, 100},
                                                        {decision_reason::weighted, 50},
                                                        {decision_reason::fallback, 25},
                                                        {decision_reason::circuit_breaker_fallback, 20}};
    for (auto [reason, priority] : expected)
    {
        decision d = weighted_openai();
        d.reason = reason;
        std::string out;
        append_decide_success(out, d, {"r-1", "acme", {}});
        json::object reply = parsed(out);
        BOOST_TEST(reply.at("decision").at("reason").as_string() == to_string(reason));
        BOOST_TEST(reply.at("decision").at("priority") == priority);
    }
}

BOOST_AUTO_TEST_CASE(unknown_trace_id_is_omitted_not_invented)
{
    decision d = weighted_openai();
    d.expected_latency_ms = 0;
    d.expected_cost = 0;
    std::string out;
    append_decide_success(out, d, {"r-1", "acme", {}});
    json::object reply = parsed(out);
    check_no_placeholders(reply);
    BOOST_TEST(!reply.at("context").as_object().contains("trace_id"));
    BOOST_TEST(reply.at("decision").at("expected_latency_ms") == 0);
    BOOST_TEST(out.find("0.0") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(context_comes_from_the_parsed_request)
{
    request_meta meta{decide_subject};
    meta.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    auto r = parse_request(valid_request(), meta);
    BOOST_TEST_REQUIRE(r.ok());
    std::string out;
    append_decide_success(out, weighted_openai(), context_of(r.request()));
    json::object ctx = parsed(out).at("context").as_object();
    BOOST_TEST(ctx.at("request_id") == "r-1");
    BOOST_TEST(ctx.at("tenant_id") == "acme");
    BOOST_TEST(ctx.at("trace_id") == "4bf92f3577b34da6a3ce929d0e0e4736");
}

BOOST_AUTO_TEST_CASE(replies_append_to_a_reused_buffer)
{
    std::string out = "prefix|";
    append_decide_success(out, weighted_openai(), {"r-1", "acme", {}});
    BOOST_TEST(out.starts_with("prefix|{\"ok\":true"));
    BOOST_TEST(out.back() == '}');
}

BOOST_AUTO_TEST_CASE(intake_error_reply)
{
    auto r = parse_request(
        []
        {
            json::object o = valid_request();
            o["trace_id"] = "tr-123";
            return o;
        }());
    BOOST_TEST_REQUIRE(!r.ok());
    std::string out;
    append_intake_error(out, r.error());
    json::object reply = parsed(out);
    check_no_placeholders(reply);
    BOOST_TEST(reply.at("ok") == false);
    const json::object& e = reply.at("error").as_object();
    BOOST_TEST(e.at("code") == "invalid_request");
    BOOST_TEST(e.at("intake_error_code") == "CORRELATION_FIELDS_INVALID");
    BOOST_TEST(e.at("message") == "trace_id must be 32 hex characters or a UUID, not all zeros");
    BOOST_TEST(!e.contains("retry_after_ms"));
    BOOST_TEST(!e.contains("details"));
    BOOST_TEST(reply.at("context").at("request_id") == "r-1");
}

BOOST_AUTO_TEST_CASE(intake_error_without_a_readable_request_id_has_no_request_id)
{
    auto r = parse_decide_request("not json", {decide_subject}, {});
    BOOST_TEST_REQUIRE(!r.ok());
    std::string out;
    append_intake_error(out, r.error());
    json::object reply = parsed(out);
    check_no_placeholders(reply);
    BOOST_TEST(reply.at("error").at("intake_error_code") == "SCHEMA_VALIDATION_FAILED");
    BOOST_TEST(reply.at("context").as_object().empty());
}

BOOST_AUTO_TEST_CASE(every_intake_code_maps_to_its_reply_code)
{
    const std::pair<intake_code, std::string_view> expected[] = {
        {intake_code::schema_validation_failed, "invalid_request"},
        {intake_code::version_unsupported, "invalid_request"},
        {intake_code::correlation_fields_invalid, "invalid_request"},
        {intake_code::tenant_forbidden, "unauthorized"},
        {intake_code::idempotency_violation, "invalid_request"}};
    for (auto [code, reply_code] : expected)
    {
        std::string out;
        append_intake_error(out, intake_error{code, "why", "r-9"});
        json::object reply = parsed(out);
        BOOST_TEST(reply.at("error").at("code").as_string() == reply_code);
        BOOST_TEST(reply.at("error").at("intake_error_code").as_string() == to_string(code));
        BOOST_TEST(reply.at("error").at("message") == "why");
        BOOST_TEST(reply.at("context").at("request_id") == "r-9");
    }
}

BOOST_AUTO_TEST_CASE(policy_not_found_reply)
{
    json::object reply =
        error_reply_for({reply_error::policy_not_found, {}, "no policy \"premium\" for tenant acme"});
    const json::object& e = reply.at("error").as_object();
    BOOST_TEST(e.at("code") == "policy_not_found");
    BOOST_TEST(e.at("message") == "no policy \"premium\" for tenant acme");
    BOOST_TEST(!e.contains("intake_error_code"));
    BOOST_TEST(!e.contains("retry_after_ms"));
    BOOST_TEST(reply.at("context").at("request_id") == "r-1");
}

BOOST_AUTO_TEST_CASE(rate_limited_and_overloaded_carry_retry_after)
{
    for (reply_error code : {reply_error::rate_limited, reply_error::overloaded})
    {
        json::object reply = error_reply_for({code, {}, "slow down", 1500});
        BOOST_TEST(reply.at("error").at("code").as_string() == to_string(code));
        BOOST_TEST(reply.at("error").at("retry_after_ms") == 1500);
    }
}

BOOST_AUTO_TEST_CASE(decision_failed_lists_every_exclusion)
{
    std::vector<exclusion> why = {{"openai", "denied by providers_deny"},
                                  {"anthropic", "circuit breaker open"}};
    json::object reply =
        error_reply_for({reply_error::decision_failed, {}, "no provider satisfies policy default", 0, why});
    const json::object& e = reply.at("error").as_object();
    BOOST_TEST(e.at("code") == "decision_failed");
    BOOST_TEST(!e.contains("retry_after_ms"));
    const json::array& details = e.at("details").as_array();
    BOOST_TEST_REQUIRE(details.size() == 2u);
    BOOST_TEST(details[0].at("provider") == "openai");
    BOOST_TEST(details[0].at("reason") == "denied by providers_deny");
    BOOST_TEST(details[1].at("provider") == "anthropic");
    BOOST_TEST(details[1].at("reason") == "circuit breaker open");
}

BOOST_AUTO_TEST_CASE(unauthorized_and_internal_replies)
{
    json::object unauthorized = error_reply_for({reply_error::unauthorized, {}, "admin token refused"});
    BOOST_TEST(unauthorized.at("error").at("code") == "unauthorized");
    json::object internal = error_reply_for({reply_error::internal, {}, {}}, {});
    BOOST_TEST(internal.at("error").at("code") == "internal");
    BOOST_TEST(internal.at("error").at("message") == "internal"); // never an empty message
    BOOST_TEST(internal.at("context").as_object().empty());
}

BOOST_AUTO_TEST_CASE(error_context_carries_every_known_id)
{
    json::object reply = error_reply_for({reply_error::rate_limited, {}, "tenant over 100 req/s", 10},
                                         {"r-1", "acme", "4bf92f3577b34da6a3ce929d0e0e4736"});
    BOOST_TEST(reply.at("context").at("tenant_id") == "acme");
    BOOST_TEST(reply.at("context").at("trace_id") == "4bf92f3577b34da6a3ce929d0e0e4736");
}

// --- the JSON writers underneath ----------------------------------------------------------------

// Strings and numbers are common/json_writer's (unit_common); here only what decide_json adds.

BOOST_AUTO_TEST_CASE(json_values_are_written_as_given)
{
    json::value v = json::parse(R"({"a":[1,-2,3.5,true,null,"x\"y"],"b":{"c":18446744073709551615}})");
    std::string out;
    append_json_value(out, v);
    BOOST_TEST(json::parse(out) == v);
}

BOOST_AUTO_TEST_SUITE_END()
