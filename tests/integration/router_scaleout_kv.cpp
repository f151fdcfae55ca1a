// router.state=jetstream on the 3-node cluster: three routers share policies, idempotency records
// and sticky bindings through KV (SPEC §14). Each router decides on a subject of its own, so a
// caller (libnats) can address one router and then another: the state they share is keyed by tenant,
// policy and idempotency key, never by subject, so this shows what a queue group would hide.
//   * a policy put through one router's admin API is served by all three within 1 s;
//   * an idempotent decide repeated to another router gets the same reply, marked a replay;
//   * one key sent to two routers at once: one decision, one replay, the same body.
// The policies are seeded with `beamline_router policy import DIR`, as an operator does.
#include "libnats_peer.hpp"
#include "nats_cluster.hpp"
#include "router_process.hpp"
#include "router_setup.hpp"
#include "shell.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace beamline::test;
using namespace std::chrono_literals;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

namespace
{

const std::string admin_token = "kv-admin-token";

std::string subject_of(std::size_t router)
{
    return "scaleout.kv.decide." + std::to_string(router);
}

std::string policy_version_1 = R"({"version":"1","providers":[{"name":"openai","weight":70},{"name":"anthropic","weight":30}]})";
std::string policy_version_2 = R"({"version":"2","providers":[{"name":"mistral","weight":1}]})";

std::optional<std::string> header_of(const received_message& m, const std::string& name)
{
    for (const auto& [k, v] : m.headers)
        if (k == name) return v;
    return std::nullopt;
}

struct kv_deployment
{
    kv_deployment()
    {
        seed.write("acme", "premium", policy_version_1);
        auto env = router_nats_env(cluster, 0);
        std::string prefix;
        for (const auto& [k, v] : env)
            prefix += k + "='" + v + "' ";
        auto imported = run_shell(prefix + "BEAMLINE_JETSTREAM_REPLICAS=3 " BEAMLINE_BINARY_DIR "/beamline_router policy import " +
                                  seed.path().string());
        BOOST_TEST_INFO("policy import: " << imported.output);
        BOOST_TEST_REQUIRE(imported.exit_code == 0);
        for (std::size_t i = 0; i < nats_cluster::size; ++i)
        {
            auto e = router_nats_env(cluster, i);
            e.emplace_back("BEAMLINE_ROUTER_STATE", "jetstream");
            e.emplace_back("BEAMLINE_JETSTREAM_REPLICAS", "3");
            e.emplace_back("BEAMLINE_ROUTER_DECIDE_SUBJECT", subject_of(i));
            e.emplace_back("BEAMLINE_ROUTER_POLICIES_DIR", empty_dir.path().string());
            e.emplace_back("BEAMLINE_HTTP_ADMIN_TOKEN", admin_token);
            e.emplace_back("BEAMLINE_NATS_NAME", "kv-router-" + std::to_string(i));
            routers.push_back(std::make_unique<router_process>(e));
        }
        auto options = options_for(cluster.node(0));
        options.name = "kv-caller";
        caller = std::make_unique<libnats_peer>(options);
        BOOST_TEST_REQUIRE(caller->connected(), caller->error());
    }

    received_message decide(std::size_t router, const std::string& body)
    {
        auto reply = caller->request(subject_of(router), body, 5000ms);
        BOOST_TEST_REQUIRE(reply.has_value(), "no reply from router " << router);
        return *reply;
    }

    nats_cluster cluster{nats_cluster_options{.tls = tls_mode::mutual}};
    policy_dir seed;
    policy_dir empty_dir; // the routers' own directory: nothing in it, KV is where policies are
    std::vector<std::unique_ptr<router_process>> routers;
    std::unique_ptr<libnats_peer> caller;
};

std::string premium_request(const std::string& id, const std::string& extra = {})
{
    return decide_request("acme", id, R"("policy_id":"premium")" + (extra.empty() ? "" : "," + extra));
}

json::object decision_of(const received_message& m)
{
    auto v = json::parse(m.data).as_object();
    BOOST_TEST_INFO("reply: " << m.data);
    BOOST_TEST_REQUIRE(v.at("ok").as_bool());
    return v.at("decision").as_object();
}

} // namespace

BOOST_AUTO_TEST_CASE(a_policy_put_through_one_router_is_served_by_all_three_within_1_s)
{
    kv_deployment d;
    for (std::size_t i = 0; i < d.routers.size(); ++i)
        BOOST_TEST(decision_of(d.decide(i, premium_request("before-" + std::to_string(i)))).at("policy_version") == "1");

    auto put = d.routers[0]->http("PUT", "/v1/policies/acme/premium", policy_version_2, admin_token);
    const auto stored = steady::now();
    BOOST_TEST_INFO("PUT: " << put.status << " " << put.body << put.error);
    BOOST_TEST_REQUIRE(put.status == 200);

    // The contract's bound: each router serves version 2 within 1 s of the write.
    for (std::size_t i = 0; i < d.routers.size(); ++i)
    {
        std::string version;
        int attempt = 0;
        while (version != "2" && steady::now() - stored < 1s)
        {
            auto decision = decision_of(d.decide(i, premium_request("after-" + std::to_string(i) + "-" +
                                                                    std::to_string(attempt++))));
            version = std::string(decision.at("policy_version").as_string());
            if (version == "2") BOOST_TEST(decision.at("provider_id") == "mistral");
        }
        BOOST_TEST(version == "2", "router " << i << " still served version " << version << " 1 s after the put");
    }
    // And the admin API of another router reads what the first one wrote.
    auto got = d.routers[2]->http("GET", "/v1/policies/acme/premium", {}, admin_token);
    BOOST_TEST(got.status == 200);
    BOOST_TEST(json::parse(got.body).at("version") == "2");
}

BOOST_AUTO_TEST_CASE(an_idempotent_decide_repeated_to_another_router_replays_the_same_reply)
{
    kv_deployment d;
    auto body = premium_request("idem-1", R"("idempotency_key":"order-42")");
    auto first = d.decide(0, body);
    BOOST_TEST(!header_of(first, "Beamline-Idempotent-Replay").has_value());
    decision_of(first);
    for (std::size_t i : {1u, 2u})
    {
        auto again = d.decide(i, body);
        BOOST_TEST(header_of(again, "Beamline-Idempotent-Replay").value_or("absent") == "true",
                   "router " << i << " did not mark its reply a replay");
        BOOST_TEST(again.data == first.data);
    }
    // The same key for a different request is refused everywhere, not decided anew.
    auto other = d.decide(2, premium_request("idem-2", R"("idempotency_key":"order-42","metadata":{"x":1})"));
    BOOST_TEST_INFO("reply: " << other.data);
    BOOST_TEST(json::parse(other.data).at("ok") == false);
    BOOST_TEST(other.data.find("IDEMPOTENCY") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(two_routers_racing_one_key_make_one_decision_and_one_replay)
{
    kv_deployment d;
    // Several keys: each one is sent to routers 1 and 2 back to back, both requests in flight at
    // once. Whichever router's create lands first decides; the other replays its reply.
    const std::string replies = "scaleout.kv.race.>";
    message_collector collected(*d.caller, replies);
    BOOST_TEST_REQUIRE(collected.status() == NATS_OK);
    BOOST_TEST_REQUIRE(d.caller->flush() == NATS_OK);
    constexpr int keys = 10;
    for (int k = 0; k < keys; ++k)
    {
        auto body = premium_request("race-" + std::to_string(k), R"("idempotency_key":"race-key-)" + std::to_string(k) + "\"");
        d.caller->publish(subject_of(1), body, {}, "scaleout.kv.race." + std::to_string(k) + ".a");
        d.caller->publish(subject_of(2), body, {}, "scaleout.kv.race." + std::to_string(k) + ".b");
    }
    BOOST_TEST_REQUIRE(d.caller->flush() == NATS_OK);
    auto got = collected.wait_for(2 * keys, 10s);
    BOOST_TEST_REQUIRE(got.size() == 2u * keys);
    for (int k = 0; k < keys; ++k)
    {
        const std::string prefix = "scaleout.kv.race." + std::to_string(k) + ".";
        std::vector<received_message> pair;
        for (const auto& m : got)
            if (m.subject.rfind(prefix, 0) == 0) pair.push_back(m);
        BOOST_TEST_REQUIRE(pair.size() == 2u);
        int replays = 0;
        for (const auto& m : pair)
            if (header_of(m, "Beamline-Idempotent-Replay")) ++replays;
        BOOST_TEST(replays == 1, "key " << k << ": " << replays << " replays");
        BOOST_TEST(pair[0].data == pair[1].data);
        decision_of(pair[0]);
    }
}
