// The results loop against a real nats-server with JetStream, with libnats as the execution tier
// publishing ExecResults: exactly one usage event per distinct result, every invalid one
// dead-lettered with its reason, and a result that cannot be metered dead-lettered once with
// MAXDELIVER_EXHAUSTED after the consumer's last delivery.
#include "beamline/app/backpressure_gate.hpp"
#include "beamline/app/results_service.hpp"
#include "jetstream_harness.hpp"
#include "libnats_jetstream.hpp"
#include "result_mix.hpp"
#include "stream_reading.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

using namespace beamline::test;
using namespace std::chrono_literals;
namespace app = beamline::app;
namespace router = beamline::router;

namespace
{

/// Polls `done` every 50 ms for at most `limit`.
template <class F>
bool eventually(F done, std::chrono::milliseconds limit)
{
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until)
    {
        if (done()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return done();
}

app::results_service_config fast_config()
{
    app::results_service_config c;
    c.ack_wait = 2s;
    c.max_deliver = 3;
    c.backoff = {200ms, 200ms};
    return c;
}

} // namespace

BOOST_AUTO_TEST_SUITE(results_consumer)

BOOST_AUTO_TEST_CASE(each_distinct_result_is_metered_once_and_each_invalid_one_dead_lettered)
{
    nats_server server(jetstream_server_options());
    beamline::metrics::registry reg; // outlives the io threads that count into it
    io_runner io;
    jetstream_client ours(io, server);

    std::mutex mutex;
    std::map<std::string, int> fed; // assignment id -> breaker feeds
    std::map<router::breaker_outcome, int> outcomes;
    auto service = app::results_service::create(
        io.executor(), ours.core, fast_config(), reg,
        [&](const router::exec_result& r, router::breaker_outcome o)
        {
            std::lock_guard lock(mutex);
            ++fed[r.assignment_id];
            ++outcomes[o];
        });
    service->start();
    BOOST_TEST_REQUIRE(eventually([&] { return service->problem().empty(); }, 15s), service->problem());

    libnats_peer peer(options_for(server));
    libnats_jetstream tier(peer);
    const auto mix = make_result_mix(10'000);
    const int distinct = mix.distinct;
    const int duplicates = mix.duplicates;
    const int invalid = mix.invalid;
    BOOST_TEST_REQUIRE(tier.publish_async_each("caf.exec.result.v1", mix.bodies) == NATS_OK);
    const auto& t = service->totals();
    auto settled = [&] { return t.acked + t.duplicates + t.dead_letters; };
    BOOST_TEST_REQUIRE(eventually([&] { return settled() >= mix.total(); }, 60s),
                       "settled " << settled() << " of " << mix.total() << ": "
                                  << boost::json::serialize(service->status()));

    BOOST_TEST(t.acked.load() == std::uint64_t(distinct));
    BOOST_TEST(t.duplicates.load() == std::uint64_t(duplicates));
    BOOST_TEST(t.dead_letters.load() == std::uint64_t(invalid));
    BOOST_TEST(t.naks.load() == 0u);
    BOOST_TEST(stream_messages(io, ours.js, "BEAMLINE_USAGE") == std::uint64_t(distinct));

    // Usage events: one per assignment id, each the one the result described.
    auto usage = usage_id_counts(tier, mix.distinct);
    BOOST_TEST(usage.size() == mix.usage_ids.size());
    BOOST_TEST(std::all_of(usage.begin(), usage.end(), [&](const auto& u) {
        return u.second == 1 && mix.usage_ids.count(u.first) == 1;
    }));

    auto letters = all_messages(io, ours.js, "BEAMLINE_DLQ");
    BOOST_TEST(letters.size() == std::size_t(invalid));
    for (const auto& l : letters)
    {
        BOOST_TEST(header_of(l, "Beamline-Dlq-Reason") == "INVALID_RESULT");
        BOOST_TEST(header_of(l, "Beamline-Dlq-Error") == invalid_result_error);
        BOOST_TEST(header_of(l, "Beamline-Original-Subject") == "caf.exec.result.v1");
        BOOST_TEST(l.data == invalid_result_body);
    }

    std::lock_guard lock(mutex);
    BOOST_TEST(fed.size() == std::size_t(distinct)); // the breaker saw each job once
    BOOST_TEST(std::all_of(fed.begin(), fed.end(), [](const auto& f) { return f.second == 1; }));
    BOOST_TEST(outcomes[router::breaker_outcome::success] == distinct / 4);
    BOOST_TEST(outcomes[router::breaker_outcome::failure] == distinct / 2); // HTTP_503 errors and timeouts
    BOOST_TEST(outcomes[router::breaker_outcome::ignored] == distinct / 4);
    service->stop();
}

BOOST_AUTO_TEST_CASE(a_result_that_cannot_be_metered_is_dead_lettered_once_after_max_deliver)
{
    nats_server server(jetstream_server_options());
    beamline::metrics::registry reg; // outlives the io threads that count into it
    io_runner io;
    jetstream_client ours(io, server);
    auto service = app::results_service::create(io.executor(), ours.core, fast_config(), reg);
    service->start();
    BOOST_TEST_REQUIRE(eventually([&] { return service->problem().empty(); }, 15s), service->problem());

    // Without the usage stream no usage event can be stored: every delivery is NAKed.
    BOOST_TEST_REQUIRE(!io.wait(ours.js.delete_stream("BEAMLINE_USAGE")).ec);
    libnats_peer peer(options_for(server));
    libnats_jetstream tier(peer);
    auto body = result_json("poison-1", "success");
    BOOST_TEST_REQUIRE(tier.publish("caf.exec.result.v1", body).has_value());

    const auto& t = service->totals();
    BOOST_TEST_REQUIRE(eventually([&] { return t.dead_letters.load() >= 1; }, 30s));
    BOOST_TEST(t.naks.load() == 3u); // every one of the max_deliver deliveries
    BOOST_TEST(t.max_deliver_exhausted.load() == 1u);
    BOOST_TEST(t.acked.load() == 0u);

    auto letters = all_messages(io, ours.js, "BEAMLINE_DLQ");
    BOOST_TEST_REQUIRE(letters.size() == 1u);
    BOOST_TEST(header_of(letters[0], "Beamline-Dlq-Reason") == "MAXDELIVER_EXHAUSTED");
    BOOST_TEST(header_of(letters[0], "Nats-Msg-Id") == "dlq-BEAMLINE_RESULTS-1");
    BOOST_TEST(header_of(letters[0], "Beamline-Original-Seq") == "1");
    BOOST_TEST(letters[0].data == body);
    service->stop();
}

BOOST_AUTO_TEST_CASE(a_stream_that_conflicts_is_reported_by_field_and_not_used)
{
    nats_server server(jetstream_server_options());
    io_runner io;
    jetstream_client ours(io, server);
    // Someone made BEAMLINE_RESULTS in memory: storage cannot be updated.
    make_stream(io, ours.js, "BEAMLINE_RESULTS", {"caf.exec.result.v1"});
    beamline::metrics::registry reg;
    auto service = app::results_service::create(io.executor(), ours.core, fast_config(), reg);
    service->start();
    BOOST_TEST_REQUIRE(eventually([&] { return service->problem().find("storage") != std::string::npos; }, 15s),
                       service->problem());
    BOOST_TEST(service->problem().find("BEAMLINE_RESULTS") != std::string::npos);
    BOOST_TEST(service->problem().find("storage (memory, want file)") != std::string::npos);
    service->stop();
}

BOOST_AUTO_TEST_CASE(while_backpressure_is_active_results_are_pulled_one_batch_at_a_time_and_all_processed)
{
    nats_server server(jetstream_server_options());
    beamline::metrics::registry reg;
    io_runner io;
    jetstream_client ours(io, server);
    auto service = app::results_service::create(io.executor(), ours.core, fast_config(), reg);

    // The real gate with a tiny in-flight mark, so that it is active: decide load is not what is
    // under test. The results backlog stays under its own mark (10,000), so pacing applies.
    beamline::app::backpressure_config marks;
    marks.inflight_high = 1;
    marks.inflight_low = 0;
    marks.activate_after_ms = std::chrono::milliseconds(0);
    auto gate = std::make_shared<app::backpressure_gate>(
        marks, reg, app::backpressure_gate::sources{[] { return std::uint64_t{5}; }, [] { return std::uint64_t{0}; }});
    gate->set_consumer_pending_source([s = service.get()] { return s->backlog(); });
    service->set_pacing([g = gate.get()] { return g->results_consumer_should_slow(); });
    BOOST_TEST_REQUIRE(eventually([&] { return gate->evaluate().state == router::backpressure_state::active; }, 5s));
    BOOST_TEST_REQUIRE(gate->results_consumer_should_slow());

    service->start();
    BOOST_TEST_REQUIRE(eventually([&] { return service->problem().empty(); }, 15s), service->problem());
    libnats_peer peer(options_for(server));
    libnats_jetstream tier(peer);
    const auto mix = make_result_mix(2'000, "paced-");
    BOOST_TEST_REQUIRE(tier.publish_async_each("caf.exec.result.v1", mix.bodies) == NATS_OK);

    // Slowed, never stopped: every result is settled while the gate stays active.
    const auto& t = service->totals();
    BOOST_TEST_REQUIRE(eventually([&] { return t.acked + t.duplicates + t.dead_letters >= mix.total(); }, 60s),
                       boost::json::serialize(service->status()));
    BOOST_TEST(gate->active());
    auto st = service->status();
    BOOST_TEST_INFO(boost::json::serialize(st));
    BOOST_TEST(st.at("paced") == true);
    BOOST_TEST(st.at("paced_times") == 1);
    // One batch at a time: never more results in process than one pull asks for (fast_config's
    // batch), and so at least one pull per batch of results.
    const auto batch = fast_config().batch;
    BOOST_TEST(st.at("paced_peak_in_process").to_number<std::uint64_t>() > 0u);
    BOOST_TEST(st.at("paced_peak_in_process").to_number<std::uint64_t>() <= batch);
    BOOST_TEST(st.at("pulls").to_number<std::uint64_t>() >= mix.total() / batch);
    BOOST_TEST(t.acked.load() == std::uint64_t(mix.distinct));

    // Back to inactive: the consumer pulls ahead again.
    gate->reset();
    BOOST_TEST_REQUIRE(tier.publish("caf.exec.result.v1", result_json("after-reset", "success")).has_value());
    BOOST_TEST(eventually([&] { return service->status().at("paced") == false; }, 10s),
               boost::json::serialize(service->status()));
    service->stop();
}

BOOST_AUTO_TEST_SUITE_END()
