// Breakers shared among routers (SPEC §14) on a 3-node nats-server cluster with R3 streams, one
// router per node. Routers A and B share the durable results consumer; router C consumes no
// results (jetstream.enabled=false) and answers decide on a subject of its own, so a decide reply
// from it is known to be its decision. libnats, as the execution tier, publishes failing results
// for openai:
//   * every router's openai breaker counts every result exactly once: the one that processed a
//     result fed its breaker and published the event, the others applied the event, and nobody
//     applied its own echo;
//   * once the window holds min_requests failures the breaker opens on all three, and router C's
//     decide replies move to anthropic although C processed none of the results.
// Waits are bounded polls of what the routers report, never sleeps that hope for an outcome.
#include "libnats_jetstream.hpp"
#include "nats_cluster.hpp"
#include "router_process.hpp"
#include "router_setup.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using namespace beamline::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace
{

// Opens only on the error rate, once the window holds 50 results: the first 40 failures leave it
// closed, so their counts can be compared; a long timeout keeps it open while the test looks.
const char* shared_breaker_policy = R"({"version":"1",
  "providers":[{"name":"openai","weight":70},{"name":"anthropic","weight":30}],
  "circuit_breaker":{"enabled":true,"failure_threshold":100000,"success_threshold":1,"timeout_ms":600000,
                     "half_open_max_calls":1,"min_requests":50,"error_rate_threshold":0.5,"window_seconds":300}})";

const std::string observer_decide_subject = "breakers.observer.decide";

struct shared_breakers_deployment
{
    shared_breakers_deployment()
    {
        policies.write("acme", "default", shared_breaker_policy);
        for (std::size_t i = 0; i < nats_cluster::size; ++i)
        {
            auto env = router_nats_env(cluster, i);
            env.emplace_back("BEAMLINE_ROUTER_POLICIES_DIR", policies.path().string());
            env.emplace_back("BEAMLINE_JETSTREAM_REPLICAS", "3");
            env.emplace_back("BEAMLINE_NATS_NAME", "breakers-router-" + std::string(1, char('a' + i)));
            if (i == observer)
            {
                env.emplace_back("BEAMLINE_JETSTREAM_ENABLED", "false");
                env.emplace_back("BEAMLINE_ROUTER_DECIDE_SUBJECT", observer_decide_subject);
            }
            routers.push_back(std::make_unique<router_process>(env, 60s));
        }
        for (std::size_t i = 0; i < routers.size(); ++i)
            if (i != observer)
                BOOST_TEST_REQUIRE(routers[i]->wait_results_running(60s), routers[i]->http_get("/v1/status").body);
    }

    // The router's openai breaker row from /v1/breakers, or an empty object while it has none.
    json::object openai_breaker(std::size_t router) const
    {
        auto r = routers.at(router)->http_get("/v1/breakers?tenant=acme");
        BOOST_TEST_REQUIRE(r.status == 200, r.body << r.error);
        auto listing = json::parse(r.body);
        for (const auto& b : listing.at("breakers").as_array())
            if (b.at("provider") == "openai") return b.as_object();
        return {};
    }
    std::int64_t window_requests(std::size_t router) const
    {
        auto b = openai_breaker(router);
        return b.empty() ? 0 : b.at("window_requests").to_number<std::int64_t>();
    }
    std::string state(std::size_t router) const
    {
        auto b = openai_breaker(router);
        return b.empty() ? "none" : std::string(b.at("state").as_string());
    }

    // router_breaker_events_total{event="<what>"} from the router's /metrics.
    long events(std::size_t router, const std::string& what) const
    {
        auto r = routers.at(router)->http_get("/metrics");
        BOOST_TEST_REQUIRE(r.status == 200);
        std::istringstream lines(r.body);
        const std::string prefix = "router_breaker_events_total{event=\"" + what + "\"} ";
        for (std::string line; std::getline(lines, line);)
            if (line.rfind(prefix, 0) == 0) return std::stol(line.substr(prefix.size()));
        return -1;
    }
    std::string summary() const
    {
        std::ostringstream out;
        for (std::size_t i = 0; i < routers.size(); ++i)
            out << " router " << char('A' + i) << ": window " << window_requests(i) << ", state " << state(i)
                << ", published " << events(i, "published") << ", applied " << events(i, "applied") << ", own "
                << events(i, "own") << ";";
        return out.str();
    }

    static constexpr std::size_t observer = 2; // router C
    nats_cluster cluster{nats_cluster_options{.tls = tls_mode::mutual}};
    policy_dir policies;
    std::vector<std::unique_ptr<router_process>> routers;
};

} // namespace

BOOST_AUTO_TEST_SUITE(router_breaker_events)

BOOST_AUTO_TEST_CASE(a_breaker_opened_by_results_on_other_routers_steers_a_router_that_processed_none)
{
    shared_breakers_deployment d;
    libnats_peer tier(options_for(d.cluster.node(0)));
    BOOST_TEST_REQUIRE(tier.connected(), tier.error());
    libnats_jetstream js(tier);
    int sent = 0;
    auto fail = [&](int n) {
        for (int i = 0; i < n; ++i)
        {
            auto body = R"({"version":"1","assignment_id":"a-)" + std::to_string(++sent) +
                        R"(","tenant_id":"acme","provider_id":"openai","status":"timeout","latency_ms":30000})";
            natsStatus failure = NATS_OK;
            BOOST_TEST_REQUIRE(js.publish("caf.exec.result.v1", body, {}, &failure).has_value(),
                               natsStatus_GetText(failure));
        }
    };

    // 40 failures: below min_requests, so every breaker stays closed and counts them.
    fail(40);
    auto every_router_counted = [&](std::int64_t n) {
        for (std::size_t i = 0; i < d.routers.size(); ++i)
            if (d.window_requests(i) != n) return false;
        return true;
    };
    // Each router learns of each result once: from processing it or from one event. The sync point
    // is the events: once every router has received (applied or skipped as its own) all 40, what
    // it counts is final.
    BOOST_TEST_REQUIRE(eventually(
                           [&] {
                               for (std::size_t i = 0; i < d.routers.size(); ++i)
                                   if (d.events(i, "applied") + d.events(i, "own") < 40) return false;
                               return true;
                           },
                           60s),
                       d.summary());
    BOOST_TEST(eventually([&] { return every_router_counted(40); }, 10s), d.summary());
    BOOST_TEST(d.events(0, "published") + d.events(1, "published") == 40, d.summary());
    BOOST_TEST(d.events(d.observer, "published") == 0, d.summary());
    BOOST_TEST(d.events(d.observer, "applied") == 40, d.summary());
    BOOST_TEST(d.events(0, "own") == d.events(0, "published"), d.summary());
    BOOST_TEST(d.events(1, "own") == d.events(1, "published"), d.summary());
    for (std::size_t i = 0; i < d.routers.size(); ++i)
        BOOST_TEST(d.state(i) == "closed", d.summary());

    // Ten more: the window holds min_requests failures on every router, and each opens.
    fail(10);
    BOOST_TEST_REQUIRE(eventually(
                           [&] {
                               for (std::size_t i = 0; i < d.routers.size(); ++i)
                                   if (d.state(i) != "open") return false;
                               return true;
                           },
                           60s),
                       d.summary());

    // Router C processed no result, yet its decisions leave openai.
    libnats_peer caller(options_for(d.cluster.node(d.observer)));
    BOOST_TEST_REQUIRE(caller.connected(), caller.error());
    for (int i = 0; i < 20; ++i)
    {
        natsStatus failure = NATS_OK;
        auto reply = caller.request(observer_decide_subject, decide_request("acme", "steered-" + std::to_string(i)), 5s,
                                    &failure);
        BOOST_TEST_REQUIRE(reply.has_value(), natsStatus_GetText(failure));
        auto v = json::parse(reply->data).as_object();
        BOOST_TEST_INFO(reply->data);
        BOOST_TEST_REQUIRE(v.at("ok") == true);
        BOOST_TEST(v.at("decision").at("provider_id") == "anthropic");
        BOOST_TEST(v.at("decision").at("reason") == "weighted");
    }
    auto status = json::parse(d.routers[d.observer]->http_get("/v1/status").body).as_object();
    BOOST_TEST(status.at("jetstream").at("enabled") == false);
}

BOOST_AUTO_TEST_SUITE_END()
