#include "beamline/router/exec_assignment.hpp"
#include "decide_fixtures.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <random>
#include <regex>
#include <string>

using namespace beamline::router;
using namespace beamline::router::test;
namespace json = boost::json;

namespace
{

decision sticky_openai(double expected_latency_ms)
{
    decision d;
    d.provider_id = "openai";
    d.reason = decision_reason::sticky;
    d.expected_latency_ms = expected_latency_ms;
    d.expected_cost = 0.002;
    d.policy_id = "default";
    d.policy_version = "3";
    return d;
}

decide_request request_from(json::object o)
{
    auto r = parse_request(o);
    BOOST_TEST_REQUIRE(r.ok());
    return std::move(r.request());
}

struct built
{
    exec_assignment assignment;
    json::object body;
};

built build(const decide_request& r, const decision& d, std::uint64_t seed = 42)
{
    std::mt19937_64 rng(seed);
    std::string text;
    built b{append_exec_assignment(text, r, d, rng), {}};
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    BOOST_TEST_REQUIRE(!ec, "body is valid JSON: " << text);
    b.body = v.as_object();
    return b;
}

std::string_view header(const exec_assignment& a, std::string_view name)
{
    for (const header_field& h : a.headers)
        if (h.name == name) return h.value;
    BOOST_FAIL("no header " << name);
    return {};
}

const std::regex traceparent_format("^00-[0-9a-f]{32}-[0-9a-f]{16}-01$");
const std::regex uuid_v4_format("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

} // namespace

BOOST_AUTO_TEST_SUITE(exec_assignment_body)

BOOST_AUTO_TEST_CASE(body_carries_every_contract_field)
{
    json::object o = valid_request();
    o["trace_id"] = "4bf92f3577b34da6a3ce929d0e0e4736";
    o["metadata"] = json::parse(R"({"user_id":"u-42"})");
    o["task"] = json::parse(R"({"type":"text.generate","payload":{"prompt":"hi"},"extra":[1,2]})");
    decide_request r = request_from(o);
    built b = build(r, sticky_openai(250));
    const json::object& body = b.body;

    BOOST_TEST(body.at("version") == "1");
    BOOST_TEST(body.at("assignment_id").as_string() == b.assignment.assignment_id);
    BOOST_TEST(std::regex_match(b.assignment.assignment_id, uuid_v4_format));
    BOOST_TEST(body.at("request_id") == "r-1");
    BOOST_TEST(body.at("tenant_id") == "acme");
    BOOST_TEST(body.at("executor") == json::parse(R"({"provider_id":"openai","channel":"nats"})"));
    BOOST_TEST(body.at("job") == o.at("task")); // the task exactly as given
    BOOST_TEST(body.at("correlation") == json::parse(R"({"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"})"));
    BOOST_TEST(body.at("metadata") == json::parse(R"({"user_id":"u-42"})"));

    const json::object& d = body.at("decision").as_object();
    BOOST_TEST(d.at("provider_id") == "openai");
    BOOST_TEST(d.at("priority") == 100);
    BOOST_TEST(d.at("reason") == "sticky");
    BOOST_TEST(d.at("expected_latency_ms") == 250);
    BOOST_TEST(d.at("expected_cost").as_double() == 0.002);
}

BOOST_AUTO_TEST_CASE(default_options)
{
    built b = build(request_from(valid_request()), sticky_openai(2000));
    BOOST_TEST(
        b.body.at("options") ==
        json::parse(R"({"priority":100,"deadline_ms":10000,"retry":{"max_attempts":2,"backoff_ms":200}})"));
}

BOOST_AUTO_TEST_CASE(deadline_is_five_times_latency_clamped)
{
    BOOST_TEST(assignment_deadline_ms(0) == 5000);
    BOOST_TEST(assignment_deadline_ms(250) == 5000);
    BOOST_TEST(assignment_deadline_ms(1000) == 5000);
    BOOST_TEST(assignment_deadline_ms(1000.5) == 5003);
    BOOST_TEST(assignment_deadline_ms(2000) == 10000);
    BOOST_TEST(assignment_deadline_ms(12000) == 60000);
    BOOST_TEST(assignment_deadline_ms(1e12) == 60000);
    BOOST_TEST(assignment_deadline_ms(-5) == 5000);

    built b = build(request_from(valid_request()), sticky_openai(30000));
    BOOST_TEST(b.body.at("options").at("deadline_ms") == 60000);
}

BOOST_AUTO_TEST_CASE(request_options_overlay_the_defaults)
{
    json::object o = valid_request();
    o["options"] = json::parse(R"({"deadline_ms":900,"retry":{"max_attempts":5},"queue":"gpu"})");
    built b = build(request_from(o), sticky_openai(250));
    BOOST_TEST(b.body.at("options") ==
               json::parse(R"({"priority":100,"deadline_ms":900,"retry":{"max_attempts":5},"queue":"gpu"})"));
}

BOOST_AUTO_TEST_CASE(headers_carry_tenant_version_and_a_valid_traceparent)
{
    json::object o = valid_request();
    o["trace_id"] = "6F1C2A9E-0B7D-4C3E-9A51-2D8E7F4B1C60"; // a UUID trace id becomes W3C form
    built b = build(request_from(o), sticky_openai(250));
    const exec_assignment& a = b.assignment;
    BOOST_TEST(a.headers.size() == 4u);
    BOOST_TEST(header(a, "tenant_id") == "acme");
    BOOST_TEST(header(a, "version") == "1");
    BOOST_TEST(header(a, "trace_id") == "6F1C2A9E-0B7D-4C3E-9A51-2D8E7F4B1C60");
    std::string traceparent(header(a, "traceparent"));
    BOOST_TEST(std::regex_match(traceparent, traceparent_format), traceparent);
    BOOST_TEST(traceparent.substr(3, 32) == "6f1c2a9e0b7d4c3e9a512d8e7f4b1c60");
    BOOST_TEST(traceparent.substr(36, 16) != "0000000000000000");
    BOOST_TEST(a.trace_id == "6f1c2a9e0b7d4c3e9a512d8e7f4b1c60");
}

BOOST_AUTO_TEST_CASE(trace_from_the_traceparent_header_is_continued)
{
    request_meta meta{decide_subject};
    meta.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    auto r = parse_request(valid_request(), meta);
    BOOST_TEST_REQUIRE(r.ok());
    built b = build(r.request(), sticky_openai(250));
    std::string traceparent(header(b.assignment, "traceparent"));
    BOOST_TEST(traceparent.substr(3, 32) == "4bf92f3577b34da6a3ce929d0e0e4736");
    BOOST_TEST(traceparent.substr(36, 16) != "00f067aa0ba902b7"); // a new span, not the caller's
}

BOOST_AUTO_TEST_CASE(without_a_trace_id_a_new_trace_starts)
{
    built b = build(request_from(valid_request()), sticky_openai(250));
    std::string traceparent(header(b.assignment, "traceparent"));
    BOOST_TEST(std::regex_match(traceparent, traceparent_format), traceparent);
    BOOST_TEST(header(b.assignment, "trace_id") == b.assignment.trace_id);
    BOOST_TEST(traceparent.substr(3, 32) == b.assignment.trace_id);
    BOOST_TEST(b.body.at("correlation").as_object().empty()); // the caller gave none
    BOOST_TEST(b.body.at("metadata").as_object().empty());
}

BOOST_AUTO_TEST_CASE(ids_come_from_the_injected_random_source)
{
    decide_request r = request_from(valid_request());
    built first = build(r, sticky_openai(250), 7);
    built again = build(r, sticky_openai(250), 7);
    built other = build(r, sticky_openai(250), 8);
    BOOST_TEST(first.assignment.assignment_id == again.assignment.assignment_id);
    BOOST_TEST(header(first.assignment, "traceparent") == header(again.assignment, "traceparent"));
    BOOST_TEST(first.assignment.assignment_id != other.assignment.assignment_id);
}

BOOST_AUTO_TEST_CASE(subject_is_the_requested_one_or_the_default)
{
    BOOST_TEST(assignment_subject_for(request_from(valid_request()), "caf.exec.assign.v1") ==
               "caf.exec.assign.v1");
    json::object o = valid_request();
    o["assignment_subject"] = "caf.exec.assign.v1.gpu";
    BOOST_TEST(assignment_subject_for(request_from(o), "caf.exec.assign.v1") == "caf.exec.assign.v1.gpu");
}

BOOST_AUTO_TEST_SUITE_END()
