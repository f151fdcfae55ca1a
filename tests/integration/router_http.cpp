// The router daemon's HTTP surface and CLI against a running daemon over a mutual-TLS nats-server:
// health through a NATS outage, status, metrics, policy administration and the CLI verbs.
#include "promtool.hpp"
#include "router_setup.hpp"
#include "shell.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <string>

using namespace beamline::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace
{

const std::string token = "s3cret-admin-token";

const char* openai_only = R"({"version":"1",
  "providers":[{"name":"openai","weight":1,"expected_latency_ms":250,"cost":0.002}]})";
const char* anthropic_only = R"({"version":"2",
  "providers":[{"name":"anthropic","weight":1,"expected_latency_ms":300,"cost":0.003}]})";

// A mutual-TLS nats-server and the daemon with one policy, acme/default (openai only), and by
// default an admin token.
struct http_fixture : router_setup
{
    explicit http_fixture(const env_list& extra_env = {{"BEAMLINE_HTTP_ADMIN_TOKEN", token}})
        : router_setup(
              nats_server_options{.tls = tls_mode::mutual},
              [](const policy_dir& dir) { dir.write("acme", "default", openai_only); },
              with_quick_reconnect(extra_env))
    {
    }

    static env_list with_quick_reconnect(env_list env)
    {
        env.emplace_back("BEAMLINE_NATS_RECONNECT_WAIT_MS", "100");
        return env;
    }

    json::object decide(const std::string& body) { return ask_json(body); }

    // The environment that points the CLI at this daemon.
    std::string cli(const std::string& args) const
    {
        return "BEAMLINE_HTTP_LISTEN=" + router->http_listen() + " BEAMLINE_HTTP_ADMIN_TOKEN=" + token +
               " '" + BEAMLINE_BINARY_DIR + "/beamline_router' " + args;
    }
};

json::object body_of(const beamline::app::http_reply& r)
{
    BOOST_TEST_INFO("HTTP " << r.status << " body: " << r.body << " " << r.error);
    auto v = json::parse(r.body);
    BOOST_TEST_REQUIRE(v.is_object());
    return v.as_object();
}

std::string provider_of(const json::object& reply)
{
    if (reply.at("ok") != true) return "<refused: " + json::serialize(reply) + ">";
    return std::string(reply.at("decision").at("provider_id").as_string());
}

} // namespace

BOOST_AUTO_TEST_SUITE(router_http)

BOOST_AUTO_TEST_CASE(healthz_follows_the_nats_connection)
{
    http_fixture f;
    auto healthy = f.router->http_get("/healthz");
    BOOST_TEST(healthy.status == 200);
    BOOST_TEST(body_of(healthy).at("status") == "ok");

    f.caller.reset();
    f.server.stop();
    BOOST_TEST_REQUIRE(f.router->wait_health(503, 15s));
    auto down = f.router->http_get("/healthz");
    BOOST_TEST(down.status == 503);
    auto reason = std::string(body_of(down).at("reason").as_string());
    BOOST_TEST(reason.find("NATS") != std::string::npos, reason);
    BOOST_TEST(f.router->http_get("/readyz").status == 503);
    BOOST_TEST(f.router->http_get("/livez").status == 200);

    f.server.start();
    BOOST_TEST_REQUIRE(f.router->wait_health(200, 20s));
    // Serving again: the subscription came back with the connection.
    f.caller.emplace(options_for(f.server));
    BOOST_TEST_REQUIRE(f.caller->connected());
    BOOST_TEST(f.decide(decide_request("acme", "r-back")).at("ok") == true);
}

BOOST_AUTO_TEST_CASE(sigterm_while_nats_is_down_still_exits_zero)
{
    http_fixture f;
    f.caller.reset();
    f.server.stop();
    BOOST_TEST_REQUIRE(f.router->wait_health(503, 15s));
    f.router->signal(SIGTERM);
    auto code = f.router->wait_exit(20s);
    BOOST_TEST_REQUIRE(code.has_value(), "the daemon did not exit within 20 s of SIGTERM");
    BOOST_TEST(*code == 0);
}

BOOST_AUTO_TEST_CASE(probes_status_and_metrics)
{
    http_fixture f;
    BOOST_TEST(f.router->http_get("/livez").status == 200);
    BOOST_TEST(f.router->http_get("/readyz").status == 200);
    BOOST_TEST(f.decide(decide_request("acme", "r-1")).at("ok") == true);
    BOOST_TEST(f.decide(decide_request("acme", "r-2", R"("policy_id":"missing")")).at("ok") == false);

    auto status = body_of(f.router->http_get("/v1/status"));
    BOOST_TEST(!status.at("version").as_string().empty());
    BOOST_TEST(status.at("uptime_s").to_number<double>() >= 0.0);
    BOOST_TEST(status.at("ready") == true);
    BOOST_TEST(status.at("nats").at("state") == "connected");
    BOOST_TEST(status.at("nats").at("server").as_string().find(std::to_string(f.server.port())) !=
               std::string::npos);
    BOOST_TEST(status.at("tenants").to_number<int>() == 1);
    BOOST_TEST(status.at("policies").to_number<int>() == 1);
    BOOST_TEST(status.at("inflight").to_number<int>() == 0);

    auto metrics = f.router->http_get("/metrics");
    BOOST_TEST_REQUIRE(metrics.status == 200);
    BOOST_TEST(metrics.body.find(R"(router_decide_requests_total{outcome="ok",code="none"} 1)") !=
                   std::string::npos,
               metrics.body);
    BOOST_TEST(
        metrics.body.find(R"(router_decide_requests_total{outcome="error",code="policy_not_found"} 1)") !=
        std::string::npos);
    BOOST_TEST(metrics.body.find("router_nats_connected 1") != std::string::npos);
    BOOST_TEST(metrics.body.find("r-1") == std::string::npos, "a request id leaked into a label");
    if (promtool_present())
    {
        auto check = promtool_check_metrics(metrics.body);
        BOOST_TEST(check.status == 0, check.output);
    }
    else
        BOOST_TEST_MESSAGE("promtool not installed: /metrics not linted");
}

BOOST_AUTO_TEST_CASE(policy_admin_is_refused_without_a_configured_token)
{
    http_fixture f(env_list{});
    auto r = f.router->http("GET", "/v1/policies", {}, "anything");
    BOOST_TEST(r.status == 403);
    BOOST_TEST(r.body.find("admin") != std::string::npos, r.body);
}

BOOST_AUTO_TEST_CASE(policy_admin_with_a_token)
{
    http_fixture f;
    BOOST_TEST(f.router->http("GET", "/v1/policies").status == 401);
    BOOST_TEST(f.router->http("GET", "/v1/policies", {}, "wrong").status == 401);

    // PUT a new version: the next decision uses it.
    BOOST_TEST(provider_of(f.decide(decide_request("acme", "r-1"))) == "openai");
    auto put = f.router->http("PUT", "/v1/policies/acme/default", anthropic_only, token);
    BOOST_TEST_REQUIRE(put.status == 200, put.body);
    BOOST_TEST(body_of(put).at("version") == "2");
    BOOST_TEST(provider_of(f.decide(decide_request("acme", "r-2"))) == "anthropic");

    // An invalid policy is refused with its problem, and the stored version keeps serving.
    auto bad =
        f.router->http("PUT", "/v1/policies/acme/default", R"({"version":"3","providers":"openai"})", token);
    BOOST_TEST(bad.status == 400);
    BOOST_TEST(bad.body.find("providers") != std::string::npos, bad.body);
    auto broken = f.router->http("PUT", "/v1/policies/acme/default", "{not json", token);
    BOOST_TEST(broken.status == 400, broken.body);
    BOOST_TEST(provider_of(f.decide(decide_request("acme", "r-3"))) == "anthropic");
    auto get = f.router->http("GET", "/v1/policies/acme/default", {}, token);
    BOOST_TEST(get.status == 200);
    BOOST_TEST(body_of(get).at("version") == "2");

    // A second policy, listed; then removed.
    BOOST_TEST(f.router->http("PUT", "/v1/policies/acme/premium", openai_only, token).status == 200);
    auto list = body_of(f.router->http("GET", "/v1/policies", {}, token));
    BOOST_TEST(list.at("policies").as_array().size() == 2u, json::serialize(list));
    auto removed = f.router->http("DELETE", "/v1/policies/acme/premium", {}, token);
    BOOST_TEST(removed.status == 200, removed.body);
    BOOST_TEST(f.router->http("GET", "/v1/policies/acme/premium", {}, token).status == 404);
    BOOST_TEST(f.router->http("DELETE", "/v1/policies/acme/premium", {}, token).status == 404);
    auto gone = f.decide(decide_request("acme", "r-4", R"("policy_id":"premium")"));
    BOOST_TEST(gone.at("error").at("code") == "policy_not_found");

    // A file written behind the daemon's back is picked up by a reload.
    f.policies.write("globex", "default", openai_only);
    auto reload = f.router->http("POST", "/v1/policies/reload", {}, token);
    BOOST_TEST(reload.status == 200, reload.body);
    BOOST_TEST(provider_of(f.decide(decide_request("globex", "r-5"))) == "openai");

    // Ids that would leave the policies directory are refused.
    for (const char* target : {"/v1/policies/../evil", "/v1/policies/%2e%2e/evil", "/v1/policies/acme/..",
                               "/v1/policies/acme/a%2Fb"})
    {
        auto escape = f.router->http("PUT", target, openai_only, token);
        BOOST_TEST((escape.status == 400 || escape.status == 404),
                   target << ": " << escape.status << " " << escape.body);
    }
    BOOST_TEST(!std::filesystem::exists(f.policies.path().parent_path() / "evil.json"));
    BOOST_TEST(!std::filesystem::exists(f.policies.path() / "acme" / "...json"));

    // A 2 MiB body is refused before it is read.
    auto huge = f.router->http("PUT", "/v1/policies/acme/huge", std::string(2u << 20, ' '), token);
    BOOST_TEST(huge.status == 413, huge.status << " " << huge.error);
    BOOST_TEST(f.router->http_get("/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(sighup_reloads_policies_and_keeps_the_last_good_version)
{
    http_fixture f;
    f.policies.write("acme", "default", anthropic_only);
    f.policies.write("acme", "broken", R"({"version":"1","providers":[{"name":"x","weight":-1}]})");
    f.router->signal(SIGHUP);
    BOOST_TEST(
        eventually([&] { return provider_of(f.decide(decide_request("acme", "r-1"))) == "anthropic"; }, 5s));
    // An invalid edit of a served policy is reported and the last good version keeps serving.
    f.policies.write("acme", "default", "{\"version\":");
    f.router->signal(SIGHUP);
    BOOST_TEST(eventually([&] { return f.router->log().find("broken.json") != std::string::npos; }, 5s));
    // Only invalid files are reported by path (the "policies loaded" line names the directory).
    BOOST_TEST(eventually([&] { return f.router->log().find("default.json") != std::string::npos; }, 5s),
               f.router->log());
    BOOST_TEST(provider_of(f.decide(decide_request("acme", "r-2"))) == "anthropic");
    auto broken = f.decide(decide_request("acme", "r-3", R"("policy_id":"broken")"));
    BOOST_TEST(broken.at("error").at("code") == "policy_not_found");
    BOOST_TEST(f.router->http_get("/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(healthz_is_503_without_policies)
{
    nats_server server{nats_server_options{.tls = tls_mode::mutual}};
    policy_dir empty;
    auto env = router_nats_env(server);
    env.emplace_back("BEAMLINE_ROUTER_POLICIES_DIR", empty.path().string());
    router_process router(env, 0ms);
    // Connected and subscribed, yet unhealthy: nothing to decide with.
    BOOST_TEST(eventually(
        [&]
        {
            auto r = router.http_get("/healthz");
            return r.status == 503 && r.body.find("no policies loaded") != std::string::npos;
        },
        10s));
    auto r = router.http_get("/healthz");
    BOOST_TEST(r.body.find(R"("nats":"connected")") != std::string::npos, r.body);
}

BOOST_AUTO_TEST_CASE(a_bad_configuration_value_is_refused_naming_the_key)
{
    auto r = run_shell("BEAMLINE_ROUTER_THREADS=lots BEAMLINE_HTTP_LISTEN=127.0.0.1:1 '" BEAMLINE_BINARY_DIR
                       "/beamline_router' run");
    BOOST_TEST(r.exit_code == 2, r.output);
    BOOST_TEST(r.output.find("BEAMLINE_ROUTER_THREADS") != std::string::npos, r.output);
    auto unknown = run_shell("BEAMLINE_ROUTER_THREADZ=2 '" BEAMLINE_BINARY_DIR "/beamline_router' ping");
    BOOST_TEST(unknown.exit_code == 2, unknown.output);
    BOOST_TEST(unknown.output.find("BEAMLINE_ROUTER_THREADZ") != std::string::npos, unknown.output);
}

BOOST_AUTO_TEST_CASE(cli_verbs_reach_the_running_daemon)
{
    http_fixture f;
    auto ping = run_shell(f.cli("ping"));
    BOOST_TEST(ping.exit_code == 0, ping.output);
    BOOST_TEST(ping.output == "pong\n");

    auto status = run_shell(f.cli("status"));
    BOOST_TEST(status.exit_code == 0, status.output);
    auto parsed = json::parse(status.output);
    BOOST_TEST(parsed.at("ready") == true);

    auto good = f.policies.path() / "acme" / "default.json";
    auto valid = run_shell(f.cli("policy validate '" + good.string() + "'"));
    BOOST_TEST(valid.exit_code == 0, valid.output);
    BOOST_TEST(valid.output.find("valid") != std::string::npos, valid.output);

    auto bad = f.policies.write("scratch", "bad", R"({"version":"1","providers":[{"weight":5}]})");
    auto invalid = run_shell(f.cli("policy validate '" + bad.string() + "'"));
    BOOST_TEST(invalid.exit_code == 1, invalid.output);
    BOOST_TEST(invalid.output.find(bad.string()) != std::string::npos, invalid.output);
    BOOST_TEST(invalid.output.find("name") != std::string::npos, invalid.output);

    auto ls = run_shell(f.cli("policy ls"));
    BOOST_TEST(ls.exit_code == 0, ls.output);
    BOOST_TEST(ls.output.find("acme") != std::string::npos, ls.output);

    f.router->signal(SIGTERM);
    BOOST_TEST(f.router->wait_exit(15s).value_or(-1) == 0);
    auto no_daemon = run_shell(f.cli("ping"));
    BOOST_TEST(no_daemon.exit_code == 1, no_daemon.output);
}

BOOST_AUTO_TEST_SUITE_END()
