// parse_decide_request reads a request's members straight from the parser's events;
// detail::parse_decide_request_dom parses a document first. The two must give the same request or
// the same refusal for every body: the edge cases of the JSON (duplicates, escapes, null, nesting,
// numbers, trailing bytes), the contract tests' bodies, and thousands of mutated requests.
#include "beamline/router/decide_request.hpp"
#include "beamline/router/detail/request_fields.hpp"
#include "decide_fixtures.hpp"
#include "intake_difference.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <random>
#include <string>
#include <vector>

using namespace beamline::router;
using namespace beamline::router::test;
namespace json = boost::json;

namespace
{

/// Both paths agree on `body`; returns whether it was accepted.
bool agree(std::string_view body, const request_meta& meta = {decide_subject}, const intake_limits& limits = {})
{
    auto streamed = parse_decide_request(body, meta, limits);
    auto documented = detail::parse_decide_request_dom(body, meta, limits);
    const std::string difference = intake_difference(streamed, documented);
    BOOST_TEST(difference.empty(), difference << " for body " << body);
    return streamed.ok();
}

/// A request using every member the SPEC names.
std::string full_request()
{
    return R"({"version":"1","request_id":"r-1","tenant_id":"acme","policy_id":"premium.v2",)"
           R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",)"
           R"("run_id":"6f1c2a9e-0b7d-4c3e-9a51-2d8e7f4b1c60","flow_id":"01ARZ3NDEKTSV4RRFFQ69G5FAV",)"
           R"("step_id":"01arz3ndektsv4rrffq69g5fav","idempotency_key":"order 42",)"
           R"("task":{"type":"text.generate","payload":{"prompt":"hi","n":[1,2.5,-3,true,null]}},)"
           R"("constraints":{"max_latency_ms":2000,"max_cost":0.01,"providers_allow":["openai"],)"
           R"("providers_deny":["local"],"region":"us"},"metadata":{"user_id":"u-42","region":"eu"},)"
           R"("push_assignment":"true","assignment_subject":"caf.exec.assign.v1.gpu",)"
           R"("options":{"deadline_ms":900},"unknown":{"deep":[{"x":"\u00e9"}]}})";
}

std::string with_member(std::string_view member)
{
    std::string body = full_request();
    body.insert(1, std::string(member) + ",");
    return body;
}

} // namespace

BOOST_AUTO_TEST_SUITE(intake_agreement)

BOOST_AUTO_TEST_CASE(the_paths_agree_on_whole_requests)
{
    BOOST_TEST(agree(full_request()));
    BOOST_TEST(agree(json::serialize(valid_request())));
    request_meta meta{decide_subject, "1", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"};
    BOOST_TEST(agree(json::serialize(valid_request()), meta));
    intake_limits limits;
    limits.tenants = tenant_allow_list({"globex"});
    BOOST_TEST(!agree(full_request(), meta, limits));
}

BOOST_AUTO_TEST_CASE(the_paths_agree_on_malformed_and_hostile_bodies)
{
    for (std::string_view body :
         {std::string_view(""), std::string_view(" "), std::string_view("{"), std::string_view("}"),
          std::string_view("[]"), std::string_view("[1,2]"), std::string_view("\"r-1\""), std::string_view("1"),
          std::string_view("-0"), std::string_view("true"), std::string_view("null"), std::string_view("{}"),
          std::string_view("{} "), std::string_view("{}x"), std::string_view("{}{}"), std::string_view("{},"),
          std::string_view(" \t\r\n{}\n"), std::string_view(R"({"request_id":"r-1",)"),
          std::string_view(R"({"request_id":"r-1",})"), std::string_view(R"({"request_id" "r-1"})"),
          std::string_view("{\"request_id\":\"r\xff\"}"), std::string_view("{\"request_id\":\"r\0\"}", 19),
          std::string_view(R"({"request_id":"\ud800"})"), std::string_view(R"({"request_id":"\x"})"),
          std::string_view("{/* comment */}"), std::string_view(R"({"task":{"type":"t","payload":{}},})"),
          std::string_view("\xef\xbb\xbf{}")})
        agree(body);
    agree(std::string(100000, '['));
    agree(std::string(100000, '{'));
    intake_limits small;
    small.max_payload = 10;
    agree(full_request(), {decide_subject}, small);
    agree(std::string(2000, 'x'), {decide_subject}, small);
}

BOOST_AUTO_TEST_CASE(the_paths_agree_at_the_nesting_limit)
{
    // boost::json::parse refuses a 33rd level; the reader must stop at the same depth, wherever
    // the deep value sits: under a member it walks over, or one it builds.
    for (const char* member : {"unknown", "task", "metadata", "request_id"})
        for (int depth : {30, 31, 32, 33})
        {
            std::string deep(static_cast<std::size_t>(depth - 1), '[');
            deep += std::string(static_cast<std::size_t>(depth - 1), ']');
            agree(with_member("\"" + std::string(member) + "\":" + deep));
            std::string objects;
            for (int i = 1; i < depth; ++i)
                objects += "{\"k\":";
            objects += "1" + std::string(static_cast<std::size_t>(depth - 1), '}');
            agree(with_member("\"" + std::string(member) + "\":" + objects));
        }
}

BOOST_AUTO_TEST_CASE(a_later_duplicate_member_wins_on_both_paths)
{
    BOOST_TEST(agree(with_member(R"("tenant_id":"globex")")));          // the later acme wins
    BOOST_TEST(!agree(full_request() + "x"));                            // trailing bytes
    std::string body = full_request();
    body.insert(body.size() - 1, R"(,"tenant_id":"globex","task":{"type":"u","payload_ref":"s3://b"})");
    BOOST_TEST(agree(body));
    auto r = parse_decide_request(body, {decide_subject}, {});
    BOOST_TEST_REQUIRE(r.ok());
    BOOST_TEST(r.request().tenant_id == "globex");
    BOOST_TEST(r.request().task == R"({"type":"u","payload_ref":"s3://b"})");
    // A later null, array or scalar replaces an earlier value, whatever it was.
    for (const char* later : {R"("task":null)", R"("task":[1])", R"("task":"t")", R"("metadata":null)",
                              R"("metadata":7)", R"("request_id":null)", R"("trace_id":{"a":1})",
                              R"("push_assignment":null)", R"("constraints":{"max_cost":-1})"})
    {
        std::string twice = full_request();
        twice.insert(twice.size() - 1, "," + std::string(later));
        agree(twice);
    }
    // Inside the task: duplicates, nesting, escapes in keys and strings that hold braces.
    const std::pair<const char*, bool> tasks[] = {
        {R"({"type":"","payload":{},"type":"t"})", true},
        {R"({"type":"t","payload":{},"type":null})", false},
        {R"({"type":"t","payload":{"type":""},"payload_ref":7})", false},
        {R"({"t\u0079pe":"t","payload":{"p":"}\"{","q":["]"]}})", true},
        {R"({"type":"t","payload_ref":"x","a_key_longer_than_the_buffer_for_keys":1})", true},
        {R"( { "type" : "t" , "payload" : { } } )", true},
    };
    for (const auto& [task, accepted] : tasks)
    {
        std::string again = full_request();
        again.insert(again.size() - 1, std::string(R"(,"task":)") + task); // after the earlier task
        BOOST_TEST(agree(again) == accepted, task);
    }
    // A task key with an escape leaves the body to the document path, which takes it alike.
    BOOST_TEST(agree(with_member(R"("t\u0061sk":{"type":"t","payload":{}})")));
    // Duplicates inside a kept member are the document's business on both paths.
    agree(with_member(R"("metadata":{"a":1,"a":2,"b":{"c":1,"c":[2]}})"));
}

BOOST_AUTO_TEST_CASE(the_paths_agree_on_escapes_in_names_and_values)
{
    // An escaped name means the member it spells once unescaped.
    std::string escaped_name = full_request();
    escaped_name.replace(escaped_name.find("\"tenant_id\""), 11, R"("tenant\u005fid")");
    BOOST_TEST(agree(escaped_name));
    for (const char* member :
         {R"("request_id":"r\u002d1 caf\u00e9")", R"("request_id":"\n")", R"("request_id":"\u0000")",
          R"("idempotency_key":"a\"b\\c\/d")", R"("policy_id":"\u0070remium")",
          R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e473\u0036")", R"("version":"\u0031")",
          R"("push_assignment":"tru\u0065")", R"("assignment_subject":"caf.exec.assign.\u0067pu")",
          R"("\u0074ask":{"ty\u0070e":"t\u00e9","payload":{"\"":"\\"}})", R"("a_very_long_member_name_\u0041_that_intake_ignores":1)",
          R"("request_id\u0000":"x")", R"("request_i":"x")", R"("request_idd":"x")"})
        agree(with_member(member));
    // Several escaped strings, one long enough for the parser to hand it over in pieces: every
    // copy must survive the ones appended after it.
    std::string many = R"("request_id":"\u0072-)" + std::string(100, 'r') + "\"," +
                       R"("idempotency_key":"\u006b)" + std::string(5000, 'k') + R"(\u006b",)" +
                       R"("policy_id":"p\u006flicy")";
    agree(with_member(many));
    std::string long_key = R"("request_id":"r-9","idempotency_key":"k\t)" + std::string(200, 'x') + "\"";
    agree(with_member(long_key));
}

BOOST_AUTO_TEST_CASE(the_paths_agree_on_null_numbers_and_kinds)
{
    for (const char* member :
         {R"("request_id":null)", R"("tenant_id":null)", R"("task":null)", R"("version":null)",
          R"("policy_id":null)", R"("trace_id":null)", R"("run_id":null)", R"("idempotency_key":null)",
          R"("constraints":null)", R"("metadata":null)", R"("options":null)", R"("assignment_subject":null)",
          R"("push_assignment":1)", R"("push_assignment":0)", R"("push_assignment":-0)",
          R"("push_assignment":1.0)", R"("push_assignment":1e0)", R"("push_assignment":18446744073709551615)",
          R"("push_assignment":-9223372036854775808)", R"("push_assignment":false)", R"("push_assignment":[])",
          R"("version":1)", R"("version":true)", R"("version":["1"])", R"("version":{"v":"1"})",
          R"("tenant_id":7)", R"("tenant_id":1.5e300)", R"("task":[])", R"("task":"t")", R"("task":false)",
          R"("constraints":[])", R"("constraints":{"max_cost":1e999})", R"("constraints":{"max_cost":-0.0})",
          R"("constraints":{"max_latency_ms":18446744073709551615})", R"("metadata":[{}])",
          R"("options":"fast")", R"("options":{})", R"("unknown":null)", R"("":"")"})
        agree(with_member(member));
}

BOOST_AUTO_TEST_CASE(the_paths_agree_on_thousands_of_mutated_requests)
{
    const std::string snippets[] = {"null", "\"", "\\", "\\u0041", "{", "}", "[", "]", ",", ":", "1e9",
                                    "-", "\"task\":1,", "\"request_id\":\"r-2\",", " ", "\xc3\xa9", "\xff"};
    const std::string bases[] = {full_request(), json::serialize(valid_request()),
                                 with_member(R"("idempotency_key":"caf\u00e9 \"q\"")")};
    request_meta with_headers{decide_subject, "1", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"};
    intake_limits limits;
    limits.tenants = tenant_allow_list({"acme", "globex"});
    std::mt19937_64 rng(20261201);
    int accepted = 0;
    int refused = 0;
    for (int i = 0; i < 6000; ++i)
    {
        std::string body = bases[rng() % std::size(bases)];
        for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0 && !body.empty(); --edits)
        {
            const std::size_t at = rng() % body.size();
            switch (rng() % 5)
            {
            case 0: body[at] = static_cast<char>(rng() % 256); break;
            case 1: body.resize(at); break;
            case 2: body.insert(at, body.substr(at, rng() % 24)); break;
            case 3: body.erase(at, rng() % 8); break;
            default: body.insert(at, snippets[rng() % std::size(snippets)]); break;
            }
        }
        const bool ok = i % 2 == 0 ? agree(body) : agree(body, with_headers, limits);
        ++(ok ? accepted : refused);
    }
    // Both outcomes are exercised in numbers, so agreement is not that of two refusals.
    BOOST_TEST(accepted > 300);
    BOOST_TEST(refused > 3000);
}

BOOST_AUTO_TEST_CASE(the_reader_takes_objects_and_leaves_the_rest_to_the_document)
{
    // The fields are views into the body: it must outlive them.
    const std::string body = full_request();
    detail::request_fields fields;
    BOOST_TEST_REQUIRE(detail::read_fields(body, fields));
    BOOST_TEST(fields[detail::request_key::tenant_id].text == "acme");
    BOOST_TEST((fields[detail::request_key::task].kind == json::kind::object));
    BOOST_TEST(fields[detail::request_key::task].text ==
               R"({"type":"text.generate","payload":{"prompt":"hi","n":[1,2.5,-3,true,null]}})");
    BOOST_TEST((fields.task.type == json::kind::string && fields.task.payload == json::kind::object));
    for (std::string_view refused : {"[]", "\"x\"", "1", "{} x", "{", "{\"a\":\"\xff\"}"})
    {
        detail::request_fields none;
        BOOST_TEST(!detail::read_fields(refused, none), refused);
    }
}

BOOST_AUTO_TEST_SUITE_END()
