// The results loop under faults, with the real daemon as a child process over a real nats-server
// with JetStream and libnats as the execution tier publishing 10,000 results (mixed statuses, 1 %
// reported twice, 1 % invalid):
//   * the router `kill -9`'d twice during the run and started again;
//   * nats-server stopped and started again on the same store during the run.
// Either way: exactly one usage event per distinct result in BEAMLINE_USAGE (a result redelivered
// after a crash is deduplicated by its Nats-Msg-Id within the stream's duplicate window), none
// missing, and every invalid result dead-lettered once with its reason.
// Kills are triggered by what the usage stream holds, so each lands in the middle of the run;
// every wait is a bounded poll of observable state.
#include "jetstream_harness.hpp"
#include "libnats_jetstream.hpp"
#include "result_mix.hpp"
#include "router_process.hpp"
#include "router_setup.hpp"
#include "stream_reading.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <optional>
#include <thread>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

using namespace beamline::test;
using namespace std::chrono_literals;

namespace
{

struct results_deployment
{
    results_deployment()
    {
        policies.write("acme", "default", two_provider_policy);
        start_router();
    }

    env_list env() const
    {
        auto e = router_nats_env(server);
        e.emplace_back("BEAMLINE_ROUTER_POLICIES_DIR", policies.path().string());
        return e;
    }
    void start_router()
    {
        router.emplace(env(), 30s);
        BOOST_TEST_REQUIRE(router->wait_results_running(30s), router->http_get("/v1/status").body);
    }
    void kill_router()
    {
        router->signal(SIGKILL);
        BOOST_TEST_REQUIRE(router->wait_exit(10s).has_value());
        router.reset();
    }

    std::uint64_t usage_stored() { return stream_messages(io, ours.js, "BEAMLINE_USAGE"); }

    /// Polls until the usage stream holds at least `n` events; the count seen.
    std::uint64_t wait_usage(std::uint64_t n, std::chrono::milliseconds limit)
    {
        std::uint64_t seen = 0;
        eventually([&] { return (seen = usage_stored()) >= n; }, limit);
        return seen;
    }

    /// Every result settled: the consumer has nothing pending nor unacknowledged, and the streams
    /// hold what the mix makes.
    bool drained(const result_mix& mix)
    {
        auto info = io.wait(ours.js.get_consumer_info("BEAMLINE_RESULTS", "router-results"));
        if (info.ec) return false;
        return info.value.num_pending == 0 && info.value.num_ack_pending == 0 &&
               usage_stored() >= std::uint64_t(mix.distinct) &&
               stream_messages(io, ours.js, "BEAMLINE_DLQ") >= std::uint64_t(mix.invalid);
    }

    /// The outcome the suite promises, read back from the streams.
    void check_exactly_once(const result_mix& mix)
    {
        BOOST_TEST(usage_stored() == std::uint64_t(mix.distinct));
        auto usage = usage_id_counts(tier_js, mix.distinct);
        BOOST_TEST(usage.size() == mix.usage_ids.size());
        int twice = 0;
        int unknown = 0;
        for (const auto& [id, count] : usage)
        {
            twice += count > 1 ? 1 : 0;
            unknown += mix.usage_ids.count(id) ? 0 : 1;
        }
        BOOST_TEST(twice == 0);
        BOOST_TEST(unknown == 0);

        auto letters = all_messages(io, ours.js, "BEAMLINE_DLQ");
        BOOST_TEST(letters.size() == std::size_t(mix.invalid));
        for (const auto& l : letters)
        {
            BOOST_TEST(header_of(l, "Beamline-Dlq-Reason") == "INVALID_RESULT");
            BOOST_TEST(header_of(l, "Beamline-Dlq-Error") == invalid_result_error);
            BOOST_TEST(l.data == invalid_result_body);
        }
    }

    nats_server server{jetstream_server_options()};
    policy_dir policies;
    std::optional<router_process> router;
    io_runner io;
    jetstream_client ours{io, server};
    libnats_peer tier{options_for(server)};
    libnats_jetstream tier_js{tier};
};

/// The execution tier publishing the whole mix from its own thread.
struct execution_tier
{
    execution_tier(libnats_jetstream& js, const result_mix& mix)
        : thread([&js, &mix, this] { status = js.publish_async_each("caf.exec.result.v1", mix.bodies); })
    {
    }
    ~execution_tier() { finish(); }
    void finish()
    {
        if (thread.joinable()) thread.join();
    }
    natsStatus status = NATS_OK;
    std::thread thread;
};

} // namespace

BOOST_AUTO_TEST_SUITE(results_faults)

BOOST_AUTO_TEST_CASE(a_router_killed_twice_mid_run_meters_each_result_once)
{
    results_deployment d;
    // What a killed router left unacknowledged comes back after the consumer's first backoff:
    // with a backoff list, nats-server 2.9 takes its first step (1 s) as the ack wait.
    auto consumer = d.io.wait(d.ours.js.get_consumer_info("BEAMLINE_RESULTS", "router-results"));
    BOOST_TEST_REQUIRE(!consumer.ec, consumer.error_text());
    BOOST_TEST(consumer.value.config.ack_wait.count() == 1000);
    const auto mix = make_result_mix(10'000);
    execution_tier tier(d.tier_js, mix);

    for (std::uint64_t mark : {2'000u, 5'500u})
    {
        auto seen = d.wait_usage(mark, 60s);
        BOOST_TEST_REQUIRE(seen >= mark, "usage events stored: " << seen << "\n" << d.router->log());
        d.kill_router();
        auto at_kill = d.usage_stored();
        BOOST_TEST_MESSAGE("router killed with " << at_kill << " usage events stored");
        BOOST_TEST_REQUIRE(at_kill < std::uint64_t(mix.distinct), "the run was over before the kill");
        d.start_router();
    }
    tier.finish();
    BOOST_TEST_REQUIRE(tier.status == NATS_OK, natsStatus_GetText(tier.status));
    BOOST_TEST_REQUIRE(eventually([&] { return d.drained(mix); }, 60s),
                       "usage " << d.usage_stored() << " of " << mix.distinct << "\n"
                                << d.router->http_get("/v1/status").body);
    d.check_exactly_once(mix);
    BOOST_TEST(d.router->http_get("/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(nats_server_restarted_mid_run_loses_nothing_and_meters_nothing_twice)
{
    results_deployment d;
    const auto mix = make_result_mix(10'000);
    {
        // The tier publishes before the restart: its own PubAcks are not what is under test.
        execution_tier tier(d.tier_js, mix);
        tier.finish();
        BOOST_TEST_REQUIRE(tier.status == NATS_OK, natsStatus_GetText(tier.status));
    }
    auto seen = d.wait_usage(3'000, 60s);
    BOOST_TEST_REQUIRE(seen >= 3'000u);
    d.server.stop();
    d.server.start(); // same ports, same store directory
    BOOST_TEST_REQUIRE(eventually([&] { return d.ours.core->connected(); }, 30s));
    BOOST_TEST_MESSAGE("nats-server restarted with " << d.usage_stored() << " usage events stored");
    BOOST_TEST_REQUIRE(d.usage_stored() < std::uint64_t(mix.distinct), "the run was over before the restart");

    BOOST_TEST_REQUIRE(eventually([&] { return d.drained(mix); }, 60s),
                       "usage " << d.usage_stored() << " of " << mix.distinct << "\n"
                                << d.router->http_get("/v1/status").body);
    d.check_exactly_once(mix);
    auto status = boost::json::parse(d.router->http_get("/v1/status").body);
    BOOST_TEST(status.at("nats").at("reconnects").to_number<int>() >= 1);
    BOOST_TEST(d.router->wait_health(200, 30s));
}

BOOST_AUTO_TEST_SUITE_END()
