// The circuit breakers' operator surface on a running daemon over a mutual-TLS nats-server: the
// listing (open, like /v1/status), the reset (token required, answers with counts, refuses malformed bodies), the CLI, the
// metrics, and a policy with a breaker block deciding as usual while no result has come in.
//
// And end to end with JetStream: libnats, as the execution tier, publishes failing results for a
// provider; its breaker opens, decide replies move to the other provider, then to the fallback with
// `circuit_breaker_fallback`, and a reset brings the provider back; with a short timeout, a
// half-open trial goes to the provider and a success closes it. There is no endpoint that fakes
// a result: breakers learn only from the results stream. Exact half-open timing and trial counts
// are unit tested (breaker_steering_test.cpp), where the clock is the test's.
#include "router_setup.hpp"
#include "shell.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <string>

using namespace beamline::test;
namespace json = boost::json;

namespace
{

const std::string token = "breaker-admin-token";

const char* breaker_policy = R"({"version":"1",
  "providers":[{"name":"openai","weight":70},{"name":"anthropic","weight":30}],
  "circuit_breaker":{"enabled":true,"failure_threshold":2,"success_threshold":1,"timeout_ms":500,
                     "half_open_max_calls":1,"min_requests":4,"error_rate_threshold":0.5,"window_seconds":10}})";

// The timeout is long: while a test looks, an open breaker stays open however slow the machine.
const char* results_policy = R"({"version":"1",
  "providers":[{"name":"openai","weight":70},{"name":"anthropic","weight":30}],
  "fallback":"local",
  "circuit_breaker":{"enabled":true,"failure_threshold":2,"success_threshold":1,"timeout_ms":600000,
                     "half_open_max_calls":1,"min_requests":100,"error_rate_threshold":0.5,"window_seconds":60}})";

// A short timeout and one success to close: the half-open path, watched by polling, never timed.
const char* recovering_policy = R"({"version":"1",
  "providers":[{"name":"openai","weight":70},{"name":"anthropic","weight":30}],
  "circuit_breaker":{"enabled":true,"failure_threshold":2,"success_threshold":1,"timeout_ms":300,
                     "half_open_max_calls":1,"min_requests":100,"error_rate_threshold":0.5,"window_seconds":60}})";

nats_server_options with_jetstream(nats_server_options o)
{
    o.jetstream = true;
    return o;
}

struct breakers_fixture : router_setup
{
    explicit breakers_fixture(bool jetstream = false, const char* policy = breaker_policy)
        : router_setup(jetstream ? with_jetstream(nats_server_options{.tls = tls_mode::mutual})
                                 : nats_server_options{.tls = tls_mode::mutual},
                       [policy](const policy_dir& dir) { dir.write("acme", "default", policy); },
                       {{"BEAMLINE_HTTP_ADMIN_TOKEN", token}})
    {
    }

    json::object call(const std::string& method, const std::string& target, const std::string& body = {})
    {
        auto r = router->http(method, target, body, token);
        BOOST_TEST_INFO("HTTP " << r.status << " body: " << r.body << " " << r.error);
        BOOST_TEST_REQUIRE(r.status == 200);
        return json::parse(r.body).as_object();
    }

    std::string provider_decided(const std::string& request_id, std::string* reason = nullptr)
    {
        auto reply = ask_json(decide_request("acme", request_id));
        BOOST_TEST_INFO(json::serialize(reply));
        BOOST_TEST_REQUIRE(reply.at("ok") == true);
        if (reason) *reason = std::string(reply.at("decision").at("reason").as_string());
        return std::string(reply.at("decision").at("provider_id").as_string());
    }

    std::string breaker_state(const std::string& provider)
    {
        auto listing = call("GET", "/v1/breakers?tenant=acme");
        for (const auto& b : listing.at("breakers").as_array())
            if (b.at("provider") == provider.c_str()) return std::string(b.at("state").as_string());
        return "none";
    }

    void publish_result(const std::string& provider, const std::string& status)
    {
        auto body = R"({"version":"1","assignment_id":"a-)" + provider + "-" + std::to_string(++results_sent) +
                    R"(","tenant_id":"acme","provider_id":")" + provider + R"(","status":")" + status +
                    R"(","job":{"type":"text.generate"},"latency_ms":30000})";
        caller->publish("caf.exec.result.v1", body);
        caller->flush();
    }

    /// Publishes timeout results for `provider` until its breaker reads open (the first ones may
    /// come before the router has made the results stream).
    void fail_until_open(const std::string& provider)
    {
        int n = 0;
        bool opened = eventually(
            [&] {
                ++n;
                publish_result(provider, "timeout");
                return breaker_state(provider) == "open";
            },
            std::chrono::seconds(30));
        BOOST_TEST_REQUIRE(opened, provider << " breaker after " << n << " failures: " << breaker_state(provider));
    }

    std::string cli(const std::string& args) const
    {
        return "BEAMLINE_HTTP_LISTEN=" + router->http_listen() + " BEAMLINE_HTTP_ADMIN_TOKEN=" + token + " '" +
               BEAMLINE_BINARY_DIR + "/beamline_router' " + args;
    }

    int results_sent = 0;
};

} // namespace

BOOST_AUTO_TEST_SUITE(router_breakers)

BOOST_AUTO_TEST_CASE(reset_needs_the_token_and_listing_does_not)
{
    breakers_fixture f;
    BOOST_TEST(f.router->http("GET", "/v1/breakers").status == 200);
    BOOST_TEST(f.router->http("POST", "/v1/breakers/reset", "{}").status == 401);
    BOOST_TEST(f.router->http("POST", "/v1/breakers/reset", "{}", "wrong").status == 401);
    // Results feed breakers through the results consumer only: there is no way to post one.
    BOOST_TEST(f.router->http("POST", "/v1/breakers/record", R"({"tenant":"acme"})", token).status == 404);
}

BOOST_AUTO_TEST_CASE(a_fresh_router_lists_no_breakers_and_decides_as_usual)
{
    breakers_fixture f;
    BOOST_TEST(json::serialize(f.call("GET", "/v1/breakers")) == R"({"breakers":[]})");

    auto reply = f.ask_json(decide_request("acme", "r-1"));
    BOOST_TEST_INFO(json::serialize(reply));
    BOOST_TEST_REQUIRE(reply.at("ok") == true);
    BOOST_TEST(reply.at("decision").at("reason") == "weighted");

    // A decision makes tenant state, not breakers: those come with results.
    BOOST_TEST(json::serialize(f.call("GET", "/v1/breakers?tenant=acme")) == R"({"breakers":[]})");
}

BOOST_AUTO_TEST_CASE(reset_answers_with_counts_and_refuses_malformed_bodies)
{
    breakers_fixture f;
    BOOST_TEST(f.call("POST", "/v1/breakers/reset", "{}").at("reset") == 0);
    BOOST_TEST(f.call("POST", "/v1/breakers/reset", "").at("reset") == 0);
    BOOST_TEST(f.call("POST", "/v1/breakers/reset", R"({"tenant":"acme"})").at("reset") == 0);
    BOOST_TEST(f.call("POST", "/v1/breakers/reset", R"({"tenant":"acme","provider":"openai"})").at("reset") == 0);

    for (const char* bad : {"[", "[]", R"({"tenant":5})", R"({"tenant":""})", R"({"provider":"openai"})"})
    {
        auto r = f.router->http("POST", "/v1/breakers/reset", bad, token);
        BOOST_TEST_INFO("body " << bad << " → HTTP " << r.status << " " << r.body);
        BOOST_TEST(r.status == 400);
        BOOST_TEST(r.body.find("invalid_request") != std::string::npos);
    }
    // Still serving.
    BOOST_TEST(f.ask_json(decide_request("acme", "r-after")).at("ok") == true);
}

BOOST_AUTO_TEST_CASE(the_cli_lists_and_resets_and_the_metrics_carry_the_transitions)
{
    breakers_fixture f;
    auto ls = run_shell(f.cli("breakers ls"));
    BOOST_TEST(ls.exit_code == 0, ls.output);
    BOOST_TEST(ls.output.find(R"({"breakers":[]})") != std::string::npos, ls.output);
    auto ls_tenant = run_shell(f.cli("breakers ls --tenant acme"));
    BOOST_TEST(ls_tenant.exit_code == 0, ls_tenant.output);
    auto reset = run_shell(f.cli("breakers reset acme openai"));
    BOOST_TEST(reset.exit_code == 0, reset.output);
    BOOST_TEST(reset.output.find(R"({"reset":0})") != std::string::npos, reset.output);
    auto usage = run_shell(f.cli("breakers frobnicate"));
    BOOST_TEST(usage.exit_code == 2, usage.output);
    BOOST_TEST(usage.output.find("usage: beamline_router breakers") != std::string::npos, usage.output);

    auto metrics = f.router->http_get("/metrics");
    BOOST_TEST_REQUIRE(metrics.status == 200);
    BOOST_TEST(metrics.body.find(R"(router_breaker_transitions_total{from="closed",to="open"} 0)") !=
                   std::string::npos,
               metrics.body);
    BOOST_TEST(metrics.body.find(R"(router_breaker_transitions_total{from="half_open",to="closed"} 0)") !=
                   std::string::npos,
               metrics.body);
}

BOOST_AUTO_TEST_CASE(failing_results_open_a_breaker_and_decide_replies_follow)
{
    breakers_fixture f(true, results_policy);
    f.fail_until_open("openai");
    auto metrics = f.router->http_get("/metrics");
    BOOST_TEST(metrics.body.find(R"(router_breaker_state{tenant="acme",provider="openai"} 1)") != std::string::npos,
               metrics.body);

    for (int i = 0; i < 20; ++i)
    {
        std::string reason;
        BOOST_TEST(f.provider_decided("steered-" + std::to_string(i), &reason) == "anthropic");
        BOOST_TEST(reason == "weighted");
    }

    f.fail_until_open("anthropic");
    std::string reason;
    BOOST_TEST(f.provider_decided("both-open", &reason) == "local");
    BOOST_TEST(reason == "circuit_breaker_fallback");

    BOOST_TEST(f.call("POST", "/v1/breakers/reset", R"({"tenant":"acme","provider":"openai"})").at("reset") == 1);
    BOOST_TEST_REQUIRE(eventually([&] { return f.breaker_state("openai") == "closed"; }, std::chrono::seconds(10)));
    BOOST_TEST(f.breaker_state("anthropic") == "open");
    BOOST_TEST(f.provider_decided("after-reset", &reason) == "openai");
    BOOST_TEST(reason == "weighted");
}

BOOST_AUTO_TEST_CASE(a_half_open_trial_that_succeeds_closes_the_breaker)
{
    breakers_fixture f(true, recovering_policy);
    f.fail_until_open("openai");

    // The trial: the next decision that draws openai takes it; the results loop then closes it.
    int asked = 0;
    BOOST_TEST_REQUIRE(eventually([&] { return f.provider_decided("trial-" + std::to_string(++asked)) == "openai"; },
                                  std::chrono::seconds(30)));
    // A success closes it once it is half-open (one that lands while it is still open, behind a
    // late failure, does not move it: so send until it closes).
    BOOST_TEST_REQUIRE(eventually(
                           [&] {
                               f.publish_result("openai", "success");
                               return f.breaker_state("openai") == "closed";
                           },
                           std::chrono::seconds(30)),
                       f.breaker_state("openai"));

    auto metrics = f.router->http_get("/metrics");
    BOOST_TEST(metrics.body.find(R"(router_breaker_transitions_total{from="half_open",to="closed"} 1)") !=
                   std::string::npos,
               metrics.body);
    BOOST_TEST(metrics.body.find(R"(router_breaker_state{tenant="acme",provider="openai"} 0)") != std::string::npos,
               metrics.body);
}

BOOST_AUTO_TEST_SUITE_END()
