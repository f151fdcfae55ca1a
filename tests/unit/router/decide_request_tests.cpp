#include "beamline/router/decide_request.hpp"
#include "decide_fixtures.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <random>
#include <string>

using namespace beamline::router;
using namespace beamline::router::test;
namespace json = boost::json;

namespace
{

const intake_code schema = intake_code::schema_validation_failed;
const intake_code correlation = intake_code::correlation_fields_invalid;
const intake_code version = intake_code::version_unsupported;

json::object with(std::string_view key, json::value v)
{
    json::object o = valid_request();
    o[key] = std::move(v);
    return o;
}

json::object without(std::string_view key)
{
    json::object o = valid_request();
    o.erase(key);
    return o;
}

json::value repeated(std::size_t n, char c)
{
    return json::string(n, c);
}

json::object with_task(json::value task)
{
    return with("task", std::move(task));
}

json::object with_constraints(json::value c)
{
    return with("constraints", std::move(c));
}

} // namespace

BOOST_AUTO_TEST_SUITE(decide_request_intake)

BOOST_AUTO_TEST_CASE(valid_request_is_accepted_with_defaults)
{
    auto r = parse_request(valid_request());
    BOOST_TEST_REQUIRE(r.ok());
    const decide_request& q = r.request();
    BOOST_TEST(q.request_id == "r-1");
    BOOST_TEST(q.tenant_id == "acme");
    BOOST_TEST(q.policy_id == "default");
    BOOST_TEST(q.trace_id.empty());
    BOOST_TEST(q.run_id.empty());
    BOOST_TEST(q.idempotency_key.empty());
    BOOST_TEST(!q.push_assignment);
    BOOST_TEST(q.assignment_subject.empty());
    BOOST_TEST(!q.constraints.max_latency_ms);
    BOOST_TEST(!q.constraints.providers_allow);
    BOOST_TEST(q.options.empty());
    BOOST_TEST(q.metadata.empty());
    BOOST_TEST(q.constraints_object.empty());
    BOOST_TEST(q.context().find("user_id") == nullptr);
}

BOOST_AUTO_TEST_CASE(task_is_kept_as_given)
{
    json::value task = json::parse(R"({"type":"t","payload":{"a":[1,2.5,"x"]},"extra":{"k":null}})");
    auto r = parse_request(with_task(task));
    BOOST_TEST_REQUIRE(r.ok());
    BOOST_TEST(json::parse(r.request().task) == task);
}

BOOST_AUTO_TEST_CASE(task_text_is_the_callers_own)
{
    // Spacing, member order and number spelling survive into ExecAssignment.job as written.
    const std::string task = R"({ "payload" : {"n":1.50,"s":"a}\"{b"}, "type":"t" })";
    const std::string body = R"({"version":"1","request_id":"r-1","tenant_id":"acme","task":)" + task + "}";
    auto r = parse_decide_request(body, {"beamline.router.v1.decide"}, {});
    BOOST_TEST_REQUIRE(r.ok());
    BOOST_TEST(r.request().task == task);
}

// --- size, then JSON object ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(oversized_body_is_refused_before_parsing)
{
    intake_limits limits;
    limits.max_payload = 1000;
    std::string not_json(2000, 'x'); // too large AND not JSON: the size rule reports
    auto r = parse_decide_request(not_json, {decide_subject}, limits);
    check_refused(r, schema, "max_payload");
    BOOST_TEST(r.error().message.find("2000 bytes") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(body_of_exactly_max_payload_is_accepted)
{
    std::string body = json::serialize(valid_request());
    intake_limits limits;
    limits.max_payload = body.size();
    BOOST_TEST(parse_decide_request(body, {decide_subject}, limits).ok());
    limits.max_payload = body.size() - 1;
    check_refused(parse_decide_request(body, {decide_subject}, limits), schema, "max_payload");
}

BOOST_AUTO_TEST_CASE(malformed_json_is_a_schema_error)
{
    check_refused(parse_decide_request(R"({"request_id":"r-1",)", {decide_subject}, {}), schema,
                  "not valid JSON");
    check_refused(parse_decide_request("", {decide_subject}, {}), schema, "not valid JSON");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_a_schema_error)
{
    check_refused(parse_decide_request("{\"request_id\":\"r\xff\"}", {decide_subject}, {}), schema, "JSON");
}

BOOST_AUTO_TEST_CASE(non_object_json_is_a_schema_error)
{
    check_refused(parse_decide_request("[1,2]", {decide_subject}, {}), schema, "JSON object");
    check_refused(parse_decide_request("\"r-1\"", {decide_subject}, {}), schema, "JSON object");
}

// --- version ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(version_is_checked_before_required_fields)
{
    json::object o = without("request_id");
    o["version"] = "2";
    check_refused(parse_request(o), version, "\"2\"");
}

BOOST_AUTO_TEST_CASE(number_one_is_not_the_version)
{
    check_refused(parse_request(with("version", 1)), version, "version");
}

BOOST_AUTO_TEST_CASE(header_version_overrides_payload)
{
    BOOST_TEST(parse_request(with("version", "2"), {decide_subject, "1"}).ok());
    check_refused(parse_request(valid_request(), {decide_subject, "2"}), version, "header");
}

BOOST_AUTO_TEST_CASE(version_falls_back_to_the_subject)
{
    BOOST_TEST(parse_request(without("version"), {"beamline.router.v1.decide"}).ok());
    check_refused(parse_request(without("version"), {"beamline.router.v2.decide"}), version, "subject");
    check_refused(parse_request(without("version"), {"router.decide"}), version, "missing");
}

// --- required fields ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(missing_request_id)
{
    check_refused(parse_request(without("request_id")), correlation, "request_id is required");
    check_refused(parse_request(with("request_id", nullptr)), correlation, "request_id is required");
}

BOOST_AUTO_TEST_CASE(missing_tenant_id)
{
    check_refused(parse_request(without("tenant_id")), correlation, "tenant_id is required");
}

BOOST_AUTO_TEST_CASE(missing_task)
{
    check_refused(parse_request(without("task")), schema, "task is required");
}

BOOST_AUTO_TEST_CASE(required_fields_are_checked_before_formats)
{
    json::object o = without("task");
    o["request_id"] = ""; // a format error, but task is missing altogether
    check_refused(parse_request(o), schema, "task is required");
}

// --- formats ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(request_id_format)
{
    check_refused(parse_request(with("request_id", "")), correlation, "request_id");
    check_refused(parse_request(with("request_id", 42)), correlation, "request_id");
    check_refused(parse_request(with("request_id", repeated(129, 'r'))), correlation, "128 bytes");
    BOOST_TEST(parse_request(with("request_id", repeated(128, 'r'))).ok());
}

BOOST_AUTO_TEST_CASE(tenant_id_format)
{
    check_refused(parse_request(with("tenant_id", "ac me")), correlation, "tenant_id");
    check_refused(parse_request(with("tenant_id", "../etc")), correlation, "tenant_id");
    check_refused(parse_request(with("tenant_id", "")), correlation, "tenant_id");
    check_refused(parse_request(with("tenant_id", 7)), correlation, "tenant_id");
    check_refused(parse_request(with("tenant_id", repeated(65, 't'))), correlation, "tenant_id");
    BOOST_TEST(parse_request(with("tenant_id", repeated(64, 't'))).ok());
    BOOST_TEST(parse_request(with("tenant_id", "Acme_eu-1.prod")).ok());
}

BOOST_AUTO_TEST_CASE(policy_id_format)
{
    auto r = parse_request(with("policy_id", "premium.v2"));
    BOOST_TEST_REQUIRE(r.ok());
    BOOST_TEST(r.request().policy_id == "premium.v2");
    check_refused(parse_request(with("policy_id", "")), correlation, "policy_id");
    check_refused(parse_request(with("policy_id", "a/b")), correlation, "policy_id");
    check_refused(parse_request(with("policy_id", true)), correlation, "policy_id");
}

BOOST_AUTO_TEST_CASE(trace_id_format)
{
    BOOST_TEST(parse_request(with("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")).ok());
    BOOST_TEST(parse_request(with("trace_id", "6f1c2a9e-0b7d-4c3e-9a51-2d8e7f4b1c60")).ok());
    check_refused(parse_request(with("trace_id", "tr-123")), correlation, "trace_id must be 32 hex");
    check_refused(parse_request(with("trace_id", repeated(32, '0'))), correlation, "trace_id");
    check_refused(parse_request(with("trace_id", 12)), correlation, "trace_id");
}

BOOST_AUTO_TEST_CASE(trace_id_comes_from_a_valid_traceparent_header)
{
    request_meta meta{decide_subject};
    meta.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    auto r = parse_request(valid_request(), meta);
    BOOST_TEST_REQUIRE(r.ok());
    BOOST_TEST(r.request().trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");

    auto given = parse_request(with("trace_id", "0af7651916cd43dd8448eb211c80319c"), meta);
    BOOST_TEST_REQUIRE(given.ok());
    BOOST_TEST(given.request().trace_id == "0af7651916cd43dd8448eb211c80319c");

    meta.traceparent = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
    auto invalid = parse_request(valid_request(), meta);
    BOOST_TEST_REQUIRE(invalid.ok()); // an unusable header is ignored, not an error
    BOOST_TEST(invalid.request().trace_id.empty());
}

BOOST_AUTO_TEST_CASE(intake_says_where_each_correlation_field_came_from)
{
    auto sources = [](const intake_result& r) {
        BOOST_TEST_REQUIRE(r.ok());
        const auto& s = r.request().sources;
        return std::string(to_string(s.trace_id)) + "/" + std::string(to_string(s.tenant_id)) + "/" +
               std::string(to_string(s.version));
    };
    request_meta meta{decide_subject};
    BOOST_TEST(sources(parse_request(valid_request(), meta)) == "absent/payload/payload");
    meta.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    meta.version = "1";
    BOOST_TEST(sources(parse_request(valid_request(), meta)) == "header/payload/header");
    // The payload's trace_id wins over the header, as its value does.
    BOOST_TEST(sources(parse_request(with("trace_id", "0af7651916cd43dd8448eb211c80319c"), meta)) ==
               "payload/payload/header");
    meta.traceparent = "garbage";
    meta.version.reset();
    BOOST_TEST(sources(parse_request(without("version"), meta)) == "absent/payload/subject");
}

BOOST_AUTO_TEST_CASE(run_flow_step_ids_go_together)
{
    json::object o = valid_request();
    o["run_id"] = "6f1c2a9e-0b7d-4c3e-9a51-2d8e7f4b1c60";
    o["flow_id"] = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    o["step_id"] = "01arz3ndektsv4rrffq69g5fav";
    auto r = parse_request(o);
    BOOST_TEST_REQUIRE(r.ok());
    BOOST_TEST(r.request().flow_id == "01ARZ3NDEKTSV4RRFFQ69G5FAV");

    json::object run_only = valid_request();
    run_only["run_id"] = "6f1c2a9e-0b7d-4c3e-9a51-2d8e7f4b1c60";
    check_refused(parse_request(run_only), correlation, "flow_id and step_id missing");

    json::object step_only = valid_request();
    step_only["step_id"] = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    check_refused(parse_request(step_only), correlation, "run_id and flow_id missing");

    o["step_id"] = "step-1";
    check_refused(parse_request(o), correlation, "step_id must be a UUID or a 26-character ULID");
}

BOOST_AUTO_TEST_CASE(idempotency_key_length)
{
    check_refused(parse_request(with("idempotency_key", "")), correlation, "idempotency_key");
    check_refused(parse_request(with("idempotency_key", repeated(257, 'k'))), correlation, "257");
    check_refused(parse_request(with("idempotency_key", 5)), correlation, "idempotency_key");
    auto r = parse_request(with("idempotency_key", repeated(256, 'k')));
    BOOST_TEST_REQUIRE(r.ok());
    BOOST_TEST(r.request().idempotency_key.size() == 256u);
}

BOOST_AUTO_TEST_CASE(task_shape)
{
    check_refused(parse_request(with_task("do it")), schema, "task must be an object");
    check_refused(parse_request(with_task(json::parse(R"({"payload":{}})"))), schema, "task.type");
    check_refused(parse_request(with_task(json::parse(R"({"type":"","payload":{}})"))), schema, "task.type");
    check_refused(parse_request(with_task(json::parse(R"({"type":3,"payload":{}})"))), schema, "task.type");
    check_refused(parse_request(with_task(json::parse(R"({"type":"t","payload":"x"})"))), schema,
                  "task.payload");
    check_refused(parse_request(with_task(json::parse(R"({"type":"t","payload_ref":1})"))), schema,
                  "task.payload_ref");
    check_refused(parse_request(with_task(json::parse(R"({"type":"t"})"))), schema, "payload_ref");
    BOOST_TEST(parse_request(with_task(json::parse(R"({"type":"t","payload_ref":"s3://b/k"})"))).ok());
    // Only the task's own members count, the last of duplicates, and null is absent.
    check_refused(parse_request(with_task(json::parse(R"({"payload":{"type":"t"}})"))), schema, "task.type");
    check_refused(parse_request(with_task(json::parse(R"({"type":null,"payload":{}})"))), schema, "task.type");
    check_refused(parse_request(with_task(json::parse(R"({"type":"t","payload":null})"))), schema, "payload_ref");
    check_refused(parse_request(with_task(json::parse(R"({"type":"t","payload":[]})"))), schema, "task.payload");
}

BOOST_AUTO_TEST_CASE(constraints_are_parsed)
{
    auto r = parse_request(with_constraints(json::parse(
        R"({"max_latency_ms":2000,"max_cost":0.01,"providers_allow":["openai","anthropic"],
            "providers_deny":["local"],"region":"eu"})")));
    BOOST_TEST_REQUIRE(r.ok());
    const constraints& c = r.request().constraints;
    BOOST_TEST(c.max_latency_ms.value_or(-1) == 2000.0);
    BOOST_TEST(c.max_cost.value_or(-1) == 0.01);
    BOOST_TEST_REQUIRE(c.providers_allow.has_value());
    BOOST_TEST(c.providers_allow->size() == 2u);
    BOOST_TEST(c.providers_deny == std::vector<std::string>{"local"});
    BOOST_TEST_REQUIRE(r.request().context().find("region"));
    BOOST_TEST(*r.request().context().find("region") == "eu"); // unknown keys are carried through
}

BOOST_AUTO_TEST_CASE(constraints_types)
{
    check_refused(parse_request(with_constraints("fast")), schema, "constraints must be an object");
    check_refused(parse_request(with_constraints(json::parse(R"({"max_latency_ms":"2000"})"))), schema,
                  "constraints.max_latency_ms");
    check_refused(parse_request(with_constraints(json::parse(R"({"max_cost":-1})"))), schema,
                  "constraints.max_cost");
    check_refused(parse_request(with_constraints(json::parse(R"({"providers_allow":"openai"})"))), schema,
                  "constraints.providers_allow");
    check_refused(parse_request(with_constraints(json::parse(R"({"providers_deny":["a",1]})"))), schema,
                  "constraints.providers_deny");
}

BOOST_AUTO_TEST_CASE(metadata_wins_over_constraints_in_the_context)
{
    json::object o = with_constraints(json::parse(R"({"region":"us","max_latency_ms":100})"));
    o["metadata"] = json::parse(R"({"region":"eu","user_id":"u-42"})");
    auto r = parse_request(o);
    BOOST_TEST_REQUIRE(r.ok());
    const routing_context ctx = r.request().context();
    for (const char* key : {"region", "user_id", "max_latency_ms"})
        BOOST_TEST_REQUIRE(ctx.find(key) != nullptr, key);
    BOOST_TEST(*ctx.find("region") == "eu");
    BOOST_TEST(*ctx.find("user_id") == "u-42");
    BOOST_TEST(*ctx.find("max_latency_ms") == 100);
    BOOST_TEST(ctx.find("max_cost") == nullptr);
    BOOST_TEST(r.request().metadata.size() == 2u);
    BOOST_TEST(r.request().constraints.max_latency_ms.value_or(0) == 100.0);
}

BOOST_AUTO_TEST_CASE(metadata_and_options_must_be_objects)
{
    check_refused(parse_request(with("metadata", json::array{1})), schema, "metadata must be an object");
    check_refused(parse_request(with("options", "fast")), schema, "options must be an object");
    auto r = parse_request(with("options", json::parse(R"({"deadline_ms":900})")));
    BOOST_TEST_REQUIRE(r.ok());
    BOOST_TEST(r.request().options.at("deadline_ms") == 900);
}

BOOST_AUTO_TEST_CASE(push_assignment_coercion)
{
    for (const char* truthy : {"true", "\"true\"", "1"})
    {
        auto r = parse_request(with("push_assignment", json::parse(truthy)));
        BOOST_TEST_REQUIRE(r.ok());
        BOOST_TEST(r.request().push_assignment, truthy << " means true");
    }
    for (const char* falsy : {"false", "\"false\"", "0", "null"})
    {
        auto r = parse_request(with("push_assignment", json::parse(falsy)));
        BOOST_TEST_REQUIRE(r.ok());
        BOOST_TEST(!r.request().push_assignment, falsy << " means false");
    }
    check_refused(parse_request(with("push_assignment", "yes")), schema, "push_assignment");
    check_refused(parse_request(with("push_assignment", 2)), schema, "push_assignment");
}

BOOST_AUTO_TEST_CASE(assignment_subject_is_bounded_so_its_publish_line_fits_the_server)
{
    // nats-server closes a connection whose control line passes 4096 bytes: a subject the router
    // would publish to is bounded well below, with room for a reply subject and the sizes.
    const std::string prefix = "caf.exec.assign.";
    const std::string at_limit = prefix + std::string(1024 - prefix.size(), 'x');
    auto ok = parse_request(with("assignment_subject", json::string(at_limit)));
    BOOST_TEST_REQUIRE(ok.ok());
    BOOST_TEST(ok.request().assignment_subject == at_limit);
    for (std::size_t extra : {std::size_t{1}, std::size_t{5000}})
    {
        auto r = parse_request(with("assignment_subject", json::string(at_limit + std::string(extra, 'y'))));
        check_refused(r, schema, "assignment_subject is " + std::to_string(1024 + extra) + " bytes");
        BOOST_TEST(r.error().message.find("1024-byte limit") != std::string::npos, r.error().message);
    }
}

BOOST_AUTO_TEST_CASE(assignment_subject_must_carry_the_allowed_prefix)
{
    auto r = parse_request(with("assignment_subject", "caf.exec.assign.v1.gpu"));
    BOOST_TEST_REQUIRE(r.ok());
    BOOST_TEST(r.request().assignment_subject == "caf.exec.assign.v1.gpu");

    check_refused(parse_request(with("assignment_subject", "beamline.usage.v1.metered")), schema,
                  "must start with \"caf.exec.assign.\"");
    check_refused(parse_request(with("assignment_subject", "caf.exec.assign.>")), schema, "NATS subject");
    check_refused(parse_request(with("assignment_subject", "caf.exec.assign.a b")), schema, "NATS subject");
    check_refused(parse_request(with("assignment_subject", "caf.exec.assign.")), schema, "NATS subject");
    check_refused(parse_request(with("assignment_subject", 1)), schema, "assignment_subject");
    // The common publish-subject rule: no wildcard character anywhere, not even inside a token.
    check_refused(parse_request(with("assignment_subject", "caf.exec.assign.a*b")), schema, "no * or >");
    check_refused(parse_request(with("assignment_subject", "caf.exec.assign.gpu>")), schema, "no * or >");

    intake_limits limits;
    limits.assignment_subject_prefix = "jobs.";
    BOOST_TEST(parse_request(with("assignment_subject", "jobs.gpu"), {decide_subject}, limits).ok());
    check_refused(parse_request(with("assignment_subject", "caf.exec.assign.v1"), {decide_subject}, limits),
                  schema, "\"jobs.\"");
}

// --- tenant allow-list --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(tenant_outside_the_allow_list_is_forbidden)
{
    intake_limits limits;
    limits.tenants = tenant_allow_list({"globex", "initech"});
    auto r = parse_request(valid_request(), {decide_subject}, limits);
    check_refused(r, intake_code::tenant_forbidden, "acme");
    BOOST_TEST(to_string(r.error().reply_code()) == "unauthorized");
    BOOST_TEST(r.error().request_id == "r-1");

    limits.tenants = tenant_allow_list({"acme"});
    BOOST_TEST(parse_request(valid_request(), {decide_subject}, limits).ok());
    BOOST_TEST(parse_request(valid_request(), {decide_subject}, intake_limits{}).ok()); // empty = all
}

BOOST_AUTO_TEST_CASE(formats_are_checked_before_the_allow_list)
{
    intake_limits limits;
    limits.tenants = tenant_allow_list({"globex"});
    check_refused(parse_request(with("trace_id", "nope"), {decide_subject}, limits), correlation, "trace_id");
}

BOOST_AUTO_TEST_CASE(allow_list_check_on_its_own)
{
    auto r = parse_request(valid_request());
    BOOST_TEST_REQUIRE(r.ok());
    BOOST_TEST(!check_tenant_allowed(r.request(), tenant_allow_list{}));
    auto refused = check_tenant_allowed(r.request(), tenant_allow_list({"globex"}));
    BOOST_TEST_REQUIRE(refused.has_value());
    BOOST_TEST(to_string(refused->code) == "TENANT_FORBIDDEN");
}

BOOST_AUTO_TEST_CASE(hostile_bodies_are_refused_not_crashed_on)
{
    std::string deep(100000, '[');
    check_refused(parse_decide_request(deep, {decide_subject}, {}), schema, "not valid JSON");
    check_refused(parse_request(with("push_assignment", json::parse("18446744073709551615"))), schema,
                  "push_assignment");
    check_refused(parse_request(with("push_assignment", 1.0)), schema, "push_assignment");
    check_refused(parse_request(with_constraints(json::parse(R"({"max_cost":1e999})"))), schema, "JSON");
    auto huge = parse_request(with_constraints(json::parse(R"({"max_latency_ms":18446744073709551615})")));
    BOOST_TEST_REQUIRE(huge.ok());
    BOOST_TEST(*huge.request().constraints.max_latency_ms == 18446744073709551615.0);
    // a raw control character inside a string is not JSON; an escaped one is refused by the rules
    check_refused(
        parse_decide_request(std::string_view("{\"request_id\":\"r\0\"}", 19), {decide_subject}, {}), schema,
        "not valid JSON");
}

BOOST_AUTO_TEST_CASE(correlation_strings_with_control_characters_are_refused)
{
    // They are echoed in replies, headers and logs, where NUL ends a C string and CR/LF ends a line.
    for (std::string_view bad :
         {std::string_view("r\0x", 3), std::string_view("r\nx"), std::string_view("r\rx"),
          std::string_view("\x1b[31m"), std::string_view("r\x7f")})
    {
        auto r = parse_request(with("request_id", json::string(bad)));
        check_refused(r, correlation, "request_id");
        BOOST_TEST(r.error().message.find("control characters") != std::string::npos);
        BOOST_TEST(r.error().request_id.empty(), "an invalid request_id is not echoed");
        check_refused(parse_request(with("idempotency_key", json::string(bad))), correlation,
                      "idempotency_key must not contain control characters");
    }
    // Printable text, UTF-8 included, is fine.
    BOOST_TEST(parse_request(with("request_id", "r-1 caf\xc3\xa9/#1")).ok());
    BOOST_TEST(parse_request(with("idempotency_key", "order 42: caf\xc3\xa9")).ok());
}

BOOST_AUTO_TEST_CASE(mutated_bodies_always_get_an_answer)
{
    // Byte flips, truncations and duplications of a full request: every outcome is a request or
    // a refusal with a message, never an exception.
    json::object full = valid_request();
    full["trace_id"] = "4bf92f3577b34da6a3ce929d0e0e4736";
    full["constraints"] = json::parse(R"({"max_cost":1,"providers_deny":["x"]})");
    full["metadata"] = json::parse(R"({"user_id":"u"})");
    full["push_assignment"] = "true";
    const std::string original = json::serialize(full);
    std::mt19937_64 rng(2024);
    int refused = 0;
    for (int i = 0; i < 3000; ++i)
    {
        std::string body = original;
        std::size_t at = rng() % body.size();
        switch (rng() % 3)
        {
        case 0:
            body[at] = static_cast<char>(rng() % 256);
            break;
        case 1:
            body.resize(at);
            break;
        default:
            body.insert(at, body.substr(at, rng() % 16));
            break;
        }
        BOOST_REQUIRE_NO_THROW({
            auto r = parse_decide_request(body, {decide_subject}, {});
            if (!r.ok())
            {
                ++refused;
                BOOST_TEST(!r.error().message.empty());
            }
        });
    }
    BOOST_TEST(refused > 0);
}

// --- the request id in refusals -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(refusal_carries_a_readable_request_id)
{
    auto r = parse_request(with("trace_id", "bad"));
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().request_id == "r-1");

    json::object o = with("request_id", repeated(200, 'r'));
    auto unreadable = parse_request(o);
    BOOST_TEST_REQUIRE(!unreadable.ok());
    BOOST_TEST(unreadable.error().request_id.empty());

    auto early = parse_decide_request("[]", {decide_subject}, {});
    BOOST_TEST(early.error().request_id.empty());
}

BOOST_AUTO_TEST_SUITE_END()
