// The breaker event routers share (SPEC §14): what one router writes, another reads back the same;
// anything else is refused with a sentence naming the member, never a throw.
#include "beamline/router/breaker_event.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <string>

using namespace beamline::router;
namespace json = boost::json;

namespace
{

breaker_event sample()
{
    breaker_event e;
    e.router_id = "router-a-1f2e";
    e.tenant_id = "acme";
    e.provider_id = "openai";
    e.outcome = breaker_outcome::failure;
    e.job_id = "a-42";
    return e;
}

std::string encoded(const breaker_event& e)
{
    std::string out;
    append_breaker_event(out, e);
    return out;
}

std::string refusal(std::string_view body)
{
    auto p = parse_breaker_event(body);
    BOOST_TEST_INFO("body: " << body);
    BOOST_TEST_REQUIRE(!p.event.has_value());
    BOOST_TEST(!p.error.empty());
    return p.error;
}

} // namespace

BOOST_AUTO_TEST_SUITE(breaker_events)

BOOST_AUTO_TEST_CASE(an_event_reads_back_as_written)
{
    for (auto outcome : {breaker_outcome::success, breaker_outcome::failure})
    {
        auto e = sample();
        e.outcome = outcome;
        auto text = encoded(e);
        auto p = parse_breaker_event(text);
        BOOST_TEST_REQUIRE(p.event.has_value(), p.error << " for " << text);
        BOOST_TEST(p.event->router_id == e.router_id);
        BOOST_TEST(p.event->tenant_id == e.tenant_id);
        BOOST_TEST(p.event->provider_id == e.provider_id);
        BOOST_TEST(p.event->job_id == e.job_id);
        BOOST_TEST((p.event->outcome == outcome));
    }
}

BOOST_AUTO_TEST_CASE(the_wire_form_is_the_documented_one)
{
    BOOST_TEST(encoded(sample()) ==
               R"({"version":"1","router_id":"router-a-1f2e","tenant_id":"acme","provider_id":"openai",)"
               R"("outcome":"failure","job_id":"a-42"})");
    auto e = sample();
    e.job_id.clear(); // absent, not ""
    BOOST_TEST(json::parse(encoded(e)).as_object().if_contains("job_id") == nullptr);
    BOOST_TEST(parse_breaker_event(encoded(e)).event.has_value());
}

BOOST_AUTO_TEST_CASE(unknown_members_are_ignored_so_newer_routers_may_add_some)
{
    auto p = parse_breaker_event(
        R"({"version":"1","router_id":"r","tenant_id":"t","provider_id":"p","outcome":"success","hops":3,"x":{}})");
    BOOST_TEST_REQUIRE(p.event.has_value(), p.error);
    BOOST_TEST((p.event->outcome == breaker_outcome::success));
    BOOST_TEST(p.event->job_id.empty());
}

BOOST_AUTO_TEST_CASE(malformed_events_are_refused_naming_the_cause)
{
    BOOST_TEST(refusal("").find("not JSON") == 0u);
    BOOST_TEST(refusal("{\"version\":").find("not JSON") == 0u);
    BOOST_TEST(refusal("[]") == "the event must be a JSON object");
    BOOST_TEST(refusal(R"({"router_id":"r","tenant_id":"t","provider_id":"p","outcome":"failure"})") ==
               R"(version must be "1")");
    BOOST_TEST(refusal(R"({"version":2,"router_id":"r","tenant_id":"t","provider_id":"p","outcome":"failure"})") ==
               R"(version must be "1")");
    BOOST_TEST(refusal(R"({"version":"1","tenant_id":"t","provider_id":"p","outcome":"failure"})") ==
               "router_id is required");
    BOOST_TEST(refusal(R"({"version":"1","router_id":"r","provider_id":"p","outcome":"failure"})") ==
               "tenant_id is required");
    BOOST_TEST(refusal(R"({"version":"1","router_id":"r","tenant_id":"t","outcome":"failure"})") ==
               "provider_id is required");
    BOOST_TEST(refusal(R"({"version":"1","router_id":"r","tenant_id":7,"provider_id":"p","outcome":"failure"})") ==
               "tenant_id must be a string");
    BOOST_TEST(refusal(R"({"version":"1","router_id":"r","tenant_id":"a b","provider_id":"p","outcome":"failure"})") ==
               "tenant_id must be 1-128 printable characters without spaces");
    BOOST_TEST(refusal(R"({"version":"1","router_id":"","tenant_id":"t","provider_id":"p","outcome":"failure"})") ==
               "router_id must be 1-128 printable characters without spaces");
    BOOST_TEST(refusal(R"({"version":"1","router_id":"r","tenant_id":"t","provider_id":"p","outcome":"failure","job_id":5})") ==
               "job_id must be a string");
    BOOST_TEST(refusal(R"({"version":"1","router_id":"r","tenant_id":"t","provider_id":"p"})") ==
               "outcome is required, a string");
    BOOST_TEST(refusal(R"({"version":"1","router_id":"r","tenant_id":"t","provider_id":"p","outcome":"ignored"})") ==
               R"(outcome must be "success" or "failure")");
    auto long_id = std::string(129, 'x');
    BOOST_TEST(refusal(R"({"version":"1","router_id":")" + long_id +
                       R"(","tenant_id":"t","provider_id":"p","outcome":"failure"})")
                   .find("router_id must be 1-128") == 0u);
}

BOOST_AUTO_TEST_CASE(an_oversized_body_is_refused_before_parsing)
{
    std::string body = R"({"version":"1","router_id":"r","tenant_id":"t","provider_id":"p","outcome":"failure","pad":")" +
                       std::string(breaker_event_max_bytes, 'x') + "\"}";
    BOOST_TEST(refusal(body).find("bytes, over 4096") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(arbitrary_bytes_never_throw)
{
    // Every prefix of a valid event and a few hostile shapes: each is refused or accepted, quietly.
    auto text = encoded(sample());
    for (std::size_t n = 0; n < text.size(); ++n)
        BOOST_TEST(!parse_breaker_event(std::string_view(text).substr(0, n)).event.has_value());
    for (std::string_view hostile : {std::string_view("\0\xff\xfe", 3), std::string_view("{\"version\":\"1\"\xff}"),
                                     std::string_view("nullnull"), std::string_view("[[[[[[[[[[[[[[[[[[[[[[[[")})
        BOOST_TEST(!parse_breaker_event(hostile).event.has_value());
}

BOOST_AUTO_TEST_SUITE_END()
