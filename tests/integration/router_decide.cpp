// The router daemon end to end: decide over a real nats-server with mutual TLS, asked by libnats.
// Success replies, every refusal the contract names, idempotent replays and ExecAssignments.
#include "router_setup.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <regex>
#include <string>

using namespace beamline::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace
{

const char* limited_policy = R"({"version":"1",
  "providers":[{"name":"openai","weight":1,"expected_latency_ms":100,"cost":0.001}],
  "rate_limit":{"enabled":true,"requests_per_second":1,"burst":1}})";

// A mutual-TLS nats-server and the daemon with tenants acme (policies default and limited) and globex.
struct router_fixture : router_setup
{
    explicit router_fixture(const env_list& extra_env = {})
        : router_setup(
              nats_server_options{.tls = tls_mode::mutual},
              [](const policy_dir& dir)
              {
                  dir.write("acme", "default", two_provider_policy);
                  dir.write("acme", "limited", limited_policy);
                  dir.write("globex", "default", two_provider_policy);
              },
              extra_env)
    {
    }
};

std::string str(const json::object& o, const char* key)
{
    auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string("<absent>");
}

// No "undefined" or "null" strings and no JSON nulls anywhere in a reply.
void expect_no_placeholders(const json::value& v)
{
    if (v.is_object())
        for (const auto& [k, member] : v.as_object())
        {
            BOOST_TEST_INFO("member " << k);
            expect_no_placeholders(member);
        }
    else if (v.is_array())
        for (const auto& e : v.as_array())
            expect_no_placeholders(e);
    else
    {
        BOOST_TEST(!v.is_null());
        if (v.is_string()) BOOST_TEST((v.as_string() != "undefined" && v.as_string() != "null"));
    }
}

// Checks an ErrorResponse: its code, intake code (empty: none) and that the message names `cause`.
json::object expect_error(const json::object& reply, const std::string& code, const std::string& intake,
                          const std::string& cause)
{
    BOOST_TEST(reply.at("ok") == false);
    const auto& error = reply.at("error").as_object();
    BOOST_TEST(str(error, "code") == code);
    BOOST_TEST(str(error, "intake_error_code") == (intake.empty() ? "<absent>" : intake));
    BOOST_TEST(str(error, "message").find(cause) != std::string::npos,
               "message \"" << str(error, "message") << "\" should mention \"" << cause << "\"");
    expect_no_placeholders(reply);
    return error;
}

std::string header(const received_message& m, const std::string& name)
{
    for (const auto& [k, v] : m.headers)
        if (k == name) return v;
    return "<absent>";
}

} // namespace

BOOST_AUTO_TEST_SUITE(router_decide)

BOOST_AUTO_TEST_CASE(decide_over_mutual_tls_returns_the_policy_decision)
{
    router_fixture f;
    auto reply =
        f.ask_json(decide_request("acme", "r-1", R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736")"));
    BOOST_TEST(reply.at("ok") == true);
    expect_no_placeholders(reply);
    const auto& d = reply.at("decision").as_object();
    auto provider = str(d, "provider_id");
    BOOST_TEST((provider == "openai" || provider == "anthropic"), "provider " << provider);
    BOOST_TEST(str(d, "reason") == "weighted");
    BOOST_TEST(d.at("priority").to_number<int>() == 50);
    BOOST_TEST(d.at("expected_latency_ms").to_number<double>() == (provider == "openai" ? 250.0 : 300.0));
    BOOST_TEST(d.at("expected_cost").to_number<double>() == (provider == "openai" ? 0.002 : 0.003));
    BOOST_TEST(str(d, "policy_id") == "default");
    BOOST_TEST(str(d, "policy_version") == "7");
    const auto& c = reply.at("context").as_object();
    BOOST_TEST(str(c, "request_id") == "r-1");
    BOOST_TEST(str(c, "tenant_id") == "acme");
    BOOST_TEST(str(c, "trace_id") == "4bf92f3577b34da6a3ce929d0e0e4736");
}

BOOST_AUTO_TEST_CASE(trace_id_is_taken_from_a_traceparent_header)
{
    router_fixture f;
    auto reply = f.ask_json(decide_request("acme", "r-tp"),
                            {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}});
    BOOST_TEST(reply.at("ok") == true);
    BOOST_TEST(str(reply.at("context").as_object(), "trace_id") == "0af7651916cd43dd8448eb211c80319c");
}

BOOST_AUTO_TEST_CASE(intake_refusals_name_their_cause)
{
    router_fixture f;
    // SCHEMA_VALIDATION_FAILED: no task.
    expect_error(f.ask_json(R"({"version":"1","request_id":"r-2","tenant_id":"acme"})"), "invalid_request",
                 "SCHEMA_VALIDATION_FAILED", "task");
    // SCHEMA_VALIDATION_FAILED: an assignment subject outside the allowed prefix.
    expect_error(f.ask_json(decide_request("acme", "r-3",
                                           R"("push_assignment":true,"assignment_subject":"evil.subject")")),
                 "invalid_request", "SCHEMA_VALIDATION_FAILED", "assignment_subject");
    // VERSION_UNSUPPORTED, in the payload and in the header.
    expect_error(
        f.ask_json(
            R"({"version":"2","request_id":"r-4","tenant_id":"acme","task":{"type":"t","payload":{}}})"),
        "invalid_request", "VERSION_UNSUPPORTED", "2");
    expect_error(f.ask_json(decide_request("acme", "r-5"), {{"version", "9"}}), "invalid_request",
                 "VERSION_UNSUPPORTED", "9");
    // CORRELATION_FIELDS_INVALID: trace_id, tenant_id, request_id.
    auto e = expect_error(f.ask_json(decide_request("acme", "r-6", R"("trace_id":"not-a-trace")")),
                          "invalid_request", "CORRELATION_FIELDS_INVALID", "trace_id");
    expect_error(f.ask_json(decide_request("ac me", "r-7")), "invalid_request", "CORRELATION_FIELDS_INVALID",
                 "tenant_id");
    expect_error(f.ask_json(decide_request("acme", std::string(129, 'x'))), "invalid_request",
                 "CORRELATION_FIELDS_INVALID", "request_id");
    expect_error(
        f.ask_json(decide_request("acme", "r-8", R"("run_id":"0f8fad5b-d9cb-469f-a165-70867728950e")")),
        "invalid_request", "CORRELATION_FIELDS_INVALID", "flow_id");
}

BOOST_AUTO_TEST_CASE(the_version_header_wins_over_the_payload)
{
    router_fixture f;
    auto body = R"({"version":"2","request_id":"r-v","tenant_id":"acme","task":{"type":"t","payload":{}}})";
    BOOST_TEST(f.ask_json(body, {{"version", "1"}}).at("ok") == true);
}

BOOST_AUTO_TEST_CASE(an_assignment_without_a_caller_trace_starts_one)
{
    router_fixture f;
    libnats_peer worker(options_for(f.server));
    BOOST_TEST_REQUIRE(worker.connected(), worker.error());
    message_collector assignments(worker, "caf.exec.assign.v1");
    BOOST_TEST_REQUIRE(worker.flush() == NATS_OK);
    BOOST_TEST_REQUIRE(f.ask_json(decide_request("acme", "r-nt", R"("push_assignment":1)")).at("ok") == true);
    auto got = assignments.wait_for(1, 5s);
    BOOST_TEST_REQUIRE(got.size() == 1u);
    auto trace = header(got[0], "trace_id");
    BOOST_TEST(std::regex_match(trace, std::regex("[0-9a-f]{32}")), trace);
    BOOST_TEST(trace != std::string(32, '0'));
    BOOST_TEST(header(got[0], "traceparent").substr(0, 36) == "00-" + trace + "-");
    BOOST_TEST(json::serialize(json::parse(got[0].data).at("correlation")) == "{}");
}

BOOST_AUTO_TEST_CASE(tenant_outside_the_allow_list_is_unauthorized)
{
    router_fixture f(env_list{{"BEAMLINE_ROUTER_TENANTS_ALLOW", "acme"}});
    auto e = expect_error(f.ask_json(decide_request("globex", "r-9")), "unauthorized", "TENANT_FORBIDDEN",
                          "globex");
    BOOST_TEST(f.ask_json(decide_request("acme", "r-10")).at("ok") == true);
}

BOOST_AUTO_TEST_CASE(unknown_policy_is_policy_not_found)
{
    router_fixture f;
    auto reply = f.ask_json(decide_request("acme", "r-11", R"("policy_id":"nope")"));
    expect_error(reply, "policy_not_found", "", "nope");
    BOOST_TEST(str(reply.at("context").as_object(), "request_id") == "r-11");
}

BOOST_AUTO_TEST_CASE(policy_rate_limit_refuses_with_retry_after)
{
    router_fixture f;
    const std::string limited = R"("policy_id":"limited")";
    BOOST_TEST(f.ask_json(decide_request("acme", "r-12", limited)).at("ok") == true);
    // Burst 1 at 1 request/s: asked again at once, the bucket is empty.
    auto e = expect_error(f.ask_json(decide_request("acme", "r-13", limited)), "rate_limited", "", "limited");
    BOOST_TEST_REQUIRE(e.contains("retry_after_ms"));
    auto retry = e.at("retry_after_ms").to_number<double>();
    BOOST_TEST(retry > 0.0);
    BOOST_TEST(retry <= 1000.0);
}

BOOST_AUTO_TEST_CASE(no_admissible_provider_is_decision_failed_with_details)
{
    router_fixture f;
    auto e = expect_error(f.ask_json(decide_request(
                              "acme", "r-14", R"("constraints":{"providers_deny":["openai","anthropic"]})")),
                          "decision_failed", "", "");
    BOOST_TEST_REQUIRE(e.contains("details"));
    std::string details = json::serialize(e.at("details"));
    BOOST_TEST(details.find("openai") != std::string::npos, details);
    BOOST_TEST(details.find("anthropic") != std::string::npos, details);
    BOOST_TEST(details.find("deny") != std::string::npos, details);
}

BOOST_AUTO_TEST_CASE(idempotent_repeat_is_replayed_and_a_changed_request_is_a_violation)
{
    router_fixture f;
    auto first = f.ask(decide_request("acme", "r-15", R"("idempotency_key":"k-1")"));
    BOOST_TEST(header(first, "Beamline-Idempotent-Replay") == "<absent>");
    BOOST_TEST(json::parse(first.data).at("ok") == true);
    for (int i = 0; i < 3; ++i)
    {
        auto again = f.ask(decide_request("acme", "r-15", R"("idempotency_key":"k-1")"));
        BOOST_TEST(again.data == first.data);
        BOOST_TEST(header(again, "Beamline-Idempotent-Replay") == "true");
    }
    auto changed =
        f.ask_json(decide_request("acme", "r-16", R"("idempotency_key":"k-1","metadata":{"x":1})"));
    expect_error(changed, "invalid_request", "IDEMPOTENCY_VIOLATION", "idempotency_key");
    // The same key in another tenant is another key.
    BOOST_TEST(f.ask_json(decide_request("globex", "r-17", R"("idempotency_key":"k-1","metadata":{"x":1})"))
                   .at("ok") == true);
}

BOOST_AUTO_TEST_CASE(push_assignment_publishes_an_exec_assignment)
{
    router_fixture f;
    libnats_peer worker(options_for(f.server));
    BOOST_TEST_REQUIRE(worker.connected(), worker.error());
    message_collector assignments(worker, "caf.exec.assign.>");
    BOOST_TEST_REQUIRE(assignments.status() == NATS_OK);
    BOOST_TEST_REQUIRE(worker.flush() == NATS_OK);

    auto reply =
        f.ask_json(decide_request("acme", "r-18",
                                  R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","push_assignment":true,)"
                                  R"("options":{"deadline_ms":1234},"metadata":{"user":"u1"})"));
    BOOST_TEST_REQUIRE(reply.at("ok") == true);
    auto got = assignments.wait_for(1, 5s);
    BOOST_TEST_REQUIRE(got.size() == 1u);
    const auto& m = got[0];
    BOOST_TEST(m.subject == "caf.exec.assign.v1");
    BOOST_TEST(header(m, "tenant_id") == "acme");
    BOOST_TEST(header(m, "version") == "1");
    BOOST_TEST(header(m, "trace_id") == "4bf92f3577b34da6a3ce929d0e0e4736");
    static const std::regex traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01");
    BOOST_TEST(std::regex_match(header(m, "traceparent"), traceparent), header(m, "traceparent"));
    BOOST_TEST(header(m, "traceparent").find("0000000000000000") == std::string::npos);

    BOOST_TEST_INFO("assignment: " << m.data);
    auto a = json::parse(m.data).as_object();
    expect_no_placeholders(a);
    static const std::regex uuid4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    BOOST_TEST(str(a, "version") == "1");
    BOOST_TEST(std::regex_match(str(a, "assignment_id"), uuid4), str(a, "assignment_id"));
    BOOST_TEST(str(a, "request_id") == "r-18");
    BOOST_TEST(str(a, "tenant_id") == "acme");
    const auto& executor = a.at("executor").as_object();
    BOOST_TEST(str(executor, "provider_id") == str(reply.at("decision").as_object(), "provider_id"));
    BOOST_TEST(str(executor, "channel") == "nats");
    BOOST_TEST(json::serialize(a.at("job")) == R"({"type":"chat","payload":{"prompt":"hi"}})");
    const auto& options = a.at("options").as_object();
    BOOST_TEST(options.at("priority").to_number<int>() == 50);
    BOOST_TEST(options.at("deadline_ms").to_number<int>() == 1234);
    BOOST_TEST(options.at("retry").as_object().at("max_attempts").to_number<int>() == 2);
    BOOST_TEST(options.at("retry").as_object().at("backoff_ms").to_number<int>() == 200);
    BOOST_TEST(str(a.at("correlation").as_object(), "trace_id") == "4bf92f3577b34da6a3ce929d0e0e4736");
    BOOST_TEST(a.at("decision") == reply.at("decision"));
    BOOST_TEST(str(a.at("metadata").as_object(), "user") == "u1");

    // An allowed custom subject is used; the default deadline is clamp(5 x 250 ms) = 5000.
    auto second = f.ask_json(decide_request(
        "acme", "r-19", R"("push_assignment":"true","assignment_subject":"caf.exec.assign.gpu")"));
    BOOST_TEST_REQUIRE(second.at("ok") == true);
    auto both = assignments.wait_for(2, 5s);
    BOOST_TEST_REQUIRE(both.size() == 2u);
    BOOST_TEST(both[1].subject == "caf.exec.assign.gpu");
    auto deadline = json::parse(both[1].data).at("options").at("deadline_ms").to_number<int>();
    BOOST_TEST(deadline == 5000);

    // A refused subject gets a refusal and publishes nothing.
    expect_error(f.ask_json(decide_request(
                     "acme", "r-20", R"("push_assignment":true,"assignment_subject":"caf.exec.other")")),
                 "invalid_request", "SCHEMA_VALIDATION_FAILED", "assignment_subject");
    BOOST_TEST(f.ask_json(decide_request("acme", "r-21")).at("ok") == true);
    BOOST_TEST(worker.flush() == NATS_OK);
    BOOST_TEST(assignments.messages().size() == 2u);
}

BOOST_AUTO_TEST_CASE(an_assignment_over_the_servers_max_payload_is_refused_to_the_caller_and_logged)
{
    // A server that takes at most 4 KiB per message: the request fits, its ExecAssignment (the
    // request's options plus the decision, ids and headers) does not.
    router_setup f(nats_server_options{.tls = tls_mode::mutual, .max_payload = 4096},
                   [](const policy_dir& dir) { dir.write("acme", "default", two_provider_policy); });
    libnats_peer worker(options_for(f.server));
    BOOST_TEST_REQUIRE(worker.connected(), worker.error());
    message_collector assignments(worker, "caf.exec.assign.>");
    BOOST_TEST_REQUIRE(assignments.status() == NATS_OK);
    BOOST_TEST_REQUIRE(worker.flush() == NATS_OK);

    auto big = decide_request("acme", "r-big",
                              R"("push_assignment":true,"options":{"note":")" + std::string(3700, 'x') + R"("})");
    BOOST_TEST_REQUIRE(big.size() < 4000u);
    auto e = expect_error(f.ask_json(big), "invalid_request", "SCHEMA_VALIDATION_FAILED", "max_payload of 4096");
    BOOST_TEST(str(e, "message").find("not published") != std::string::npos, str(e, "message"));

    // The connection survived, and a request whose assignment fits is served as before.
    BOOST_TEST_REQUIRE(f.ask_json(decide_request("acme", "r-small", R"("push_assignment":true)")).at("ok") == true);
    auto got = assignments.wait_for(1, 5s);
    BOOST_TEST(worker.flush() == NATS_OK);
    got = assignments.messages();
    BOOST_TEST_REQUIRE(got.size() == 1u);
    BOOST_TEST(json::parse(got[0].data).at("request_id").as_string() == "r-small");

    auto metrics = f.router->http_get("/metrics").body;
    BOOST_TEST(metrics.find(R"(router_assignment_publish_failures_total{reason="too_large"} 1)") != std::string::npos,
               metrics);
    BOOST_TEST(metrics.find("router_assignments_published_total 1\n") != std::string::npos, metrics);
    // One log line (JSON) at warn, with the request id and the reason.
    auto log = f.router->log();
    auto line_at = log.find("ExecAssignment not published");
    BOOST_TEST_REQUIRE(line_at != std::string::npos, log);
    auto begin = log.rfind('\n', line_at);
    begin = begin == std::string::npos ? 0 : begin + 1;
    auto line = json::parse(log.substr(begin, log.find('\n', line_at) - begin)).as_object();
    BOOST_TEST(str(line, "level") == "warn");
    BOOST_TEST(str(line, "request_id") == "r-big");
    BOOST_TEST(str(line, "reason") == "too_large");
}

BOOST_AUTO_TEST_SUITE_END()
