// The circuit breakers' operator surface on a running daemon over a mutual-TLS nats-server: the
// listing (open, like /v1/status), the reset (token required, answers with counts, refuses malformed bodies), the CLI, the
// metrics, and a policy with a breaker block deciding as usual while no result has come in.
//
// Breakers are fed by execution results; the daemon has no way to fake one (no record endpoint), so
// how results steer decisions is tested at the unit level (breaker_steering_test.cpp).
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

struct breakers_fixture : router_setup
{
    breakers_fixture()
        : router_setup(nats_server_options{.tls = tls_mode::mutual},
                       [](const policy_dir& dir) { dir.write("acme", "default", breaker_policy); },
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

    std::string cli(const std::string& args) const
    {
        return "BEAMLINE_HTTP_LISTEN=" + router->http_listen() + " BEAMLINE_HTTP_ADMIN_TOKEN=" + token + " '" +
               BEAMLINE_BINARY_DIR + "/beamline_router' " + args;
    }
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

BOOST_AUTO_TEST_SUITE_END()
