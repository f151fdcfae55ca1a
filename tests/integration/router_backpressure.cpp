// Backpressure end to end over a mutual-TLS nats-server: a router made slow on purpose
// (backpressure.diagnostic_decide_delay_us: every decision waits 2 ms, one at a time, so about 500
// per second) receives about four times that. Backpressure must activate, keep
// deciding the requests it admits, answer the rest `overloaded` with a retry hint, answer every
// request exactly once, turn /readyz away while /healthz stays 200, and recover once the load stops.
#include "router_setup.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <map>
#include <string>
#include <thread>

using namespace beamline::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace
{

const std::string token = "bp-admin-token";
const char* one_provider = R"({"version":"1","providers":[{"name":"openai","weight":1}]})";

struct overload_fixture : router_setup
{
    explicit overload_fixture(const env_list& overrides = {})
        : router_setup(nats_server_options{.tls = tls_mode::mutual},
                       [](const policy_dir& dir) { dir.write("acme", "default", one_provider); },
                       with(overrides))
    {
    }

    // Later entries win: the daemon sees the environment in order.
    static env_list with(const env_list& overrides)
    {
        env_list env{{"BEAMLINE_HTTP_ADMIN_TOKEN", token},
                        {"BEAMLINE_ROUTER_THREADS", "4"},
                        {"BEAMLINE_BACKPRESSURE_DIAGNOSTIC_DECIDE_DELAY_US", "2000"},
                        {"BEAMLINE_BACKPRESSURE_INFLIGHT_HIGH", "20"},
                        {"BEAMLINE_BACKPRESSURE_INFLIGHT_LOW", "5"},
                        // The latency input is left out of this test: in-flight is the one it drives.
                        {"BEAMLINE_BACKPRESSURE_LATENCY_P95_HIGH_MS", "1000000"},
                        {"BEAMLINE_BACKPRESSURE_LATENCY_P95_LOW_MS", "1000000"},
                        {"BEAMLINE_BACKPRESSURE_ACTIVATE_AFTER_MS", "300"},
                        {"BEAMLINE_BACKPRESSURE_RECOVER_AFTER_MS", "1000"}};
        env.insert(env.end(), overrides.begin(), overrides.end());
        return env;
    }

    json::object backpressure() const
    {
        auto r = router->http_get("/v1/backpressure");
        BOOST_TEST_REQUIRE(r.status == 200, r.body << r.error);
        return json::parse(r.body).as_object();
    }
    std::string state() const { return std::string(backpressure().at("state").as_string()); }
};

double metric(const std::string& text, const std::string& series)
{
    auto at = text.find("\n" + series + " ");
    BOOST_TEST_REQUIRE(at != std::string::npos, series << " missing from /metrics");
    return std::stod(text.substr(at + series.size() + 2));
}

} // namespace

BOOST_AUTO_TEST_SUITE(router_backpressure)

BOOST_AUTO_TEST_CASE(overload_is_shed_every_request_is_answered_and_it_recovers)
{
    overload_fixture f;
    BOOST_TEST(f.state() == "inactive");

    // Every request has its own reply subject, so a reply is matched to its request even when it
    // carries no request id (an overloaded reply is sent before the request is parsed).
    message_collector replies(*f.caller, "_INBOX.bp.>");
    BOOST_TEST_REQUIRE(replies.status() == NATS_OK);
    BOOST_TEST_REQUIRE(f.caller->flush() == NATS_OK);

    // About 2000 requests per second for 3 s: 20 every 10 ms.
    constexpr int total = 6000;
    std::atomic<int> sent{0};
    std::thread load([&] {
        for (int i = 0; i < total; ++i)
        {
            f.caller->publish(decide_subject, decide_request("acme", "r-" + std::to_string(i)), {},
                              "_INBOX.bp." + std::to_string(i));
            sent.store(i + 1);
            if (i % 20 == 19) std::this_thread::sleep_for(10ms);
        }
        f.caller->flush();
    });

    // Under the load (and while its backlog drains): active, /readyz 503, /healthz 200.
    bool seen_active = false;
    int ready_while_active = 0;
    int health_while_active = 0;
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    while (!seen_active && std::chrono::steady_clock::now() < give_up)
    {
        if (f.state() == "active")
        {
            seen_active = true;
            ready_while_active = f.router->http_get("/readyz").status;
            health_while_active = f.router->http_get("/healthz").status;
        }
        else
            std::this_thread::sleep_for(20ms);
    }
    load.join();
    BOOST_TEST_REQUIRE(seen_active, "backpressure never became active under load");
    BOOST_TEST(ready_while_active == 503);
    BOOST_TEST(health_while_active == 200);

    // Every request answered exactly once: decided, or refused as overloaded with a retry hint.
    auto got = replies.wait_for(total, 60s);
    BOOST_TEST(got.size() == static_cast<std::size_t>(total));
    std::map<std::string, int> per_request;
    int decided = 0;
    int overloaded = 0;
    for (const auto& m : got)
    {
        ++per_request[m.subject];
        auto reply = json::parse(m.data).as_object();
        if (reply.at("ok") == true)
        {
            ++decided;
            continue;
        }
        const auto& error = reply.at("error").as_object();
        BOOST_TEST_INFO("reply: " << m.data);
        BOOST_TEST(error.at("code") == "overloaded");
        BOOST_TEST(error.at("retry_after_ms").to_number<double>() > 0);
        ++overloaded;
    }
    BOOST_TEST(per_request.size() == static_cast<std::size_t>(total));
    for (const auto& [subject, n] : per_request)
        BOOST_TEST(n == 1, subject << " answered " << n << " times");
    BOOST_TEST(decided > 0);
    BOOST_TEST(overloaded > 0);
    BOOST_TEST_MESSAGE("decided " << decided << ", overloaded " << overloaded << " of " << total);

    // The load is over: back to inactive (every input below its low mark for 1 s), ready again.
    bool recovered = eventually([&] { return f.state() == "inactive"; }, 20s);
    BOOST_TEST(recovered, "still " << json::serialize(f.backpressure()));
    BOOST_TEST(f.router->http_get("/readyz").status == 200);

    auto status = f.backpressure();
    BOOST_TEST(status.at("activations").to_number<double>() >= 1);
    BOOST_TEST(status.at("retry_after_ms").to_number<double>() == 0);
    auto metrics = f.router->http_get("/metrics").body;
    BOOST_TEST(metric(metrics, "router_backpressure_rejections_total") == overloaded);
    BOOST_TEST(metric(metrics, R"(router_decide_requests_total{outcome="error",code="overloaded"})") == overloaded);
    BOOST_TEST(metric(metrics, "router_backpressure_state") == 0);
    BOOST_TEST(metric(metrics, "router_backpressure_activations_total") >= 1);

    // Decisions work normally again.
    BOOST_TEST(f.ask_json(decide_request("acme", "after")).at("ok") == true);
}

BOOST_AUTO_TEST_CASE(a_reset_is_overridden_while_an_input_stays_over_and_the_reply_says_so)
{
    // p95 latency marks of 1 ms against decisions that take 2 ms: once 20 decisions are in the
    // 10 s window the latency input is over its high mark, whatever the load, for as long as
    // those samples stay in the window.
    overload_fixture f({{"BEAMLINE_BACKPRESSURE_LATENCY_P95_HIGH_MS", "1"},
                        {"BEAMLINE_BACKPRESSURE_LATENCY_P95_LOW_MS", "1"}});
    for (int i = 0; i < 30; ++i)
        BOOST_TEST_REQUIRE(f.ask_json(decide_request("acme", "r-" + std::to_string(i))).at("ok") == true);
    BOOST_TEST_REQUIRE(eventually([&] { return f.state() == "active"; }, 5s), json::serialize(f.backpressure()));
    auto status = f.backpressure();
    BOOST_TEST(status.at("inputs").at("latency_p95_ms").at("over") == true);
    BOOST_TEST(status.at("retry_after_ms").to_number<double>() > 0);
    BOOST_TEST(f.router->http_get("/readyz").status == 503);

    // Without the token the reset is refused.
    BOOST_TEST(f.router->http("POST", "/v1/backpressure/reset").status == 401);

    auto r = f.router->http("POST", "/v1/backpressure/reset", {}, token);
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    BOOST_TEST_INFO(r.body);
    auto body = json::parse(r.body).as_object();
    BOOST_TEST(body.at("previous_state") == "active");
    BOOST_TEST(body.at("state") == "inactive");
    BOOST_TEST(body.at("status").at("state") == "inactive");
    BOOST_TEST(body.at("reactivates") == true);
    BOOST_TEST(body.at("still_over").as_array().size() == 1u);
    BOOST_TEST(body.at("still_over").as_array().at(0) == "latency_p95_ms");
    BOOST_TEST(std::string(body.at("message").as_string()).find("raise it again") != std::string::npos);

    // And the next evaluation does: active again, a second activation.
    BOOST_TEST(eventually([&] { return f.state() == "active"; }, 5s));
    BOOST_TEST(f.backpressure().at("activations").to_number<double>() == 2);

    // No more decisions: the slow samples still in the window no longer count once the router has
    // been idle for a second, so it recovers well before they age out of the 10 s window.
    BOOST_TEST(eventually([&] { return f.state() == "inactive"; }, 6s), json::serialize(f.backpressure()));
}

BOOST_AUTO_TEST_SUITE_END()
