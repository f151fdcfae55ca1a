// Pull consumers against a real nats-server with JetStream, with libnats's JetStream API as the
// independent peer on the other side: fetch, consume, acks of every kind, NAK with delay,
// MaxDeliver and its advisory, and a durable that survives a server restart under load.
#include "jetstream_harness.hpp"
#include "libnats_jetstream.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

using namespace beamline::test;
using namespace std::chrono_literals;
namespace nats = beamline::nats;

namespace
{

js::consumer_config durable(const std::string& name, std::chrono::milliseconds ack_wait = 30s, int max_deliver = 0)
{
    js::consumer_config c;
    c.durable_name = name;
    c.ack_wait = ack_wait;
    c.max_deliver = max_deliver;
    return c;
}

js::fetch_options batch_of(std::size_t n, std::chrono::milliseconds expires = 3s)
{
    js::fetch_options o;
    o.batch = n;
    o.expires = expires;
    return o;
}

boost::asio::awaitable<std::error_code> double_ack(js::js_message* m)
{
    co_return co_await m->ack_sync();
}

// Collects what a pull_consumer hands over, acking each message once.
struct consumed
{
    std::mutex mutex;
    std::condition_variable arrived;
    std::map<std::string, int> by_payload;   // payload -> times received
    std::vector<std::error_code> warnings;
    std::optional<std::error_code> stopped;
    std::size_t total = 0;
    std::size_t ack_failures = 0;

    js::consume_events events(bool ack = true)
    {
        js::consume_events e;
        e.message = [this, ack](js::js_message m) {
            std::error_code ec = ack ? m.ack() : std::error_code{};
            std::lock_guard lock(mutex);
            if (ec) ++ack_failures;
            ++by_payload[std::string(m.payload())];
            ++total;
            arrived.notify_all();
        };
        e.warning = [this](std::error_code ec) {
            std::lock_guard lock(mutex);
            warnings.push_back(ec);
        };
        e.stopped = [this](std::error_code ec) {
            std::lock_guard lock(mutex);
            stopped = ec;
            arrived.notify_all();
        };
        return e;
    }
    bool wait_distinct(std::size_t n, std::chrono::milliseconds limit)
    {
        std::unique_lock lock(mutex);
        return arrived.wait_for(lock, limit, [&] { return by_payload.size() >= n; });
    }
    bool wait_stopped(std::chrono::milliseconds limit)
    {
        std::unique_lock lock(mutex);
        return arrived.wait_for(lock, limit, [&] { return stopped.has_value(); });
    }
};

// Stops a consumer when the test case ends, however it ends, and waits for its last event: events
// run on the consumer's strand until `stopped`, and must not touch a test's locals once they are gone.
struct stop_at_exit
{
    std::shared_ptr<js::pull_consumer> consumer;
    consumed& seen;
    ~stop_at_exit()
    {
        consumer->stop();
        seen.wait_stopped(10s);
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(jetstream_consume)

BOOST_FIXTURE_TEST_CASE(libnats_publishes_we_fetch_and_ack_exactly_once, jetstream_setup)
{
    make_stream(io, c.js, "JOBS", {"jobs.>"});
    make_durable(io, c.js, "JOBS", durable("w", 2s));

    libnats_peer peer(options_for(server));
    libnats_jetstream ljs(peer);
    BOOST_TEST_REQUIRE(ljs.status() == NATS_OK);
    for (int i = 0; i < 10; ++i)
        BOOST_TEST_REQUIRE(ljs.publish("jobs.run", "job-" + std::to_string(i)).has_value());

    auto got = io.wait(js::fetch(c.js, "JOBS", "w", batch_of(10)));
    BOOST_TEST_REQUIRE(!got.ec, got.error_text());
    BOOST_TEST_REQUIRE(got.value.size() == 10u);
    for (std::size_t i = 0; i < got.value.size(); ++i)
    {
        auto& m = got.value[i];
        BOOST_TEST(m.payload() == "job-" + std::to_string(i));
        BOOST_TEST_REQUIRE(!m.metadata_error());
        BOOST_TEST(m.metadata().stream == "JOBS");
        BOOST_TEST(m.metadata().consumer == "w");
        BOOST_TEST(m.metadata().delivered == 1u);
        BOOST_TEST(m.metadata().stream_seq == i + 1);
        BOOST_TEST(m.metadata().pending == 9 - i);
        BOOST_TEST(!m.in_progress());
        BOOST_TEST(!m.in_progress()); // +WPI may repeat
        if (i % 2 == 0)
            BOOST_TEST(!m.ack());
        else
            BOOST_TEST(!io.wait(double_ack(&m)));
        BOOST_TEST(m.ack() == js::js_errc::already_acked);
        BOOST_TEST(m.nak() == js::js_errc::already_acked);
        BOOST_TEST(m.term() == js::js_errc::already_acked);
        BOOST_TEST(m.in_progress() == js::js_errc::already_acked);
    }
    BOOST_TEST_REQUIRE(!io.wait(c.core->flush(2s)));
    auto info = io.wait(c.js.get_consumer_info("JOBS", "w"));
    BOOST_TEST(info.value.num_ack_pending == 0u);
    BOOST_TEST(info.value.ack_floor.stream_seq == 10u);
    // Past the ack wait nothing comes back: every message was acked.
    std::this_thread::sleep_for(2500ms);
    js::fetch_options probe;
    probe.no_wait = true;
    auto none = io.wait(js::fetch(c.js, "JOBS", "w", probe));
    BOOST_TEST(none.ec == js::js_errc::no_messages);
    BOOST_TEST(none.value.empty());
    BOOST_TEST(io.wait(c.js.get_consumer_info("JOBS", "w")).value.num_redelivered == 0u);
}

BOOST_FIXTURE_TEST_CASE(we_publish_libnats_pull_subscription_consumes, jetstream_setup)
{
    make_stream(io, c.js, "EV", {"ev.>"});
    for (int i = 0; i < 50; ++i)
    {
        auto r = io.wait(c.js.publish("ev.one", "e" + std::to_string(i)));
        BOOST_TEST_REQUIRE(!r.ec, r.error_text());
    }
    libnats_peer peer(options_for(server));
    libnats_jetstream ljs(peer);
    libnats_pull_subscription sub(ljs, "ev.>", "lib", "EV");
    BOOST_TEST_REQUIRE(sub.status() == NATS_OK);
    std::vector<fetched_message> all;
    for (int round = 0; round < 20 && all.size() < 50; ++round)
        for (auto& m : sub.fetch(25, 2000))
            all.push_back(std::move(m));
    BOOST_TEST_REQUIRE(all.size() == 50u);
    for (int i = 0; i < 50; ++i)
    {
        BOOST_TEST(all[i].data == "e" + std::to_string(i));
        BOOST_TEST(all[i].delivered == 1u);
    }
}

BOOST_FIXTURE_TEST_CASE(fetch_respects_no_wait_max_bytes_and_a_missing_consumer, jetstream_setup)
{
    make_stream(io, c.js, "F", {"f.>"});
    make_durable(io, c.js, "F", durable("d"));
    js::fetch_options nowait;
    nowait.no_wait = true;
    nowait.batch = 5;
    BOOST_TEST(io.wait(js::fetch(c.js, "F", "d", nowait)).ec == js::js_errc::no_messages);
    for (int i = 0; i < 5; ++i)
        BOOST_TEST_REQUIRE(!io.wait(c.js.publish("f.x", std::string(100, 'a' + i))).ec);
    auto some = io.wait(js::fetch(c.js, "F", "d", nowait));
    BOOST_TEST(some.value.size() == 5u);
    for (auto& m : some.value)
        m.nak();
    js::fetch_options small = batch_of(5);
    small.max_bytes = 250; // one or two of these, as the server counts their size
    auto limited = io.wait(js::fetch(c.js, "F", "d", small));
    BOOST_TEST_REQUIRE(!limited.ec, limited.error_text());
    BOOST_TEST(limited.value.size() >= 1u);
    BOOST_TEST(limited.value.size() <= 2u);
    // An expiring fetch with nothing to get ends with the server's 408, not an error.
    BOOST_TEST_REQUIRE(!io.wait(c.js.purge_stream("F")).ec);
    auto empty = io.wait(js::fetch(c.js, "F", "d", batch_of(3, 500ms)));
    BOOST_TEST(!empty.ec);
    BOOST_TEST(empty.value.empty());
    // A pull on a consumer that is not there: JetStream answers 404 at once on 2.9.
    auto gone = io.wait(js::fetch(c.js, "F", "nobody", batch_of(1, 500ms)));
    BOOST_TEST(gone.value.empty());
}

BOOST_FIXTURE_TEST_CASE(nak_with_delay_redelivers_with_delivered_two, jetstream_setup)
{
    make_stream(io, c.js, "N", {"n.>"});
    make_durable(io, c.js, "N", durable("d"));
    BOOST_TEST_REQUIRE(!io.wait(c.js.publish("n.x", "retry me")).ec);
    auto first = io.wait(js::fetch(c.js, "N", "d", batch_of(1)));
    BOOST_TEST_REQUIRE(first.value.size() == 1u);
    BOOST_TEST(first.value[0].metadata().delivered == 1u);
    BOOST_TEST_REQUIRE(!first.value[0].nak(500ms));
    auto second = io.wait(js::fetch(c.js, "N", "d", batch_of(1, 5s)));
    BOOST_TEST_REQUIRE(second.value.size() == 1u);
    BOOST_TEST(second.value[0].payload() == "retry me");
    BOOST_TEST(second.value[0].metadata().delivered == 2u);
    BOOST_TEST(second.value[0].metadata().stream_seq == 1u);
    BOOST_TEST(!second.value[0].term());
}

BOOST_FIXTURE_TEST_CASE(max_deliver_stops_redelivery_and_the_advisory_is_seen, jetstream_setup)
{
    make_stream(io, c.js, "P", {"p.>"});
    make_durable(io, c.js, "P", durable("d", 30s, 2));
    client_inbox advisories;
    nats::subscription_ptr sub;
    BOOST_TEST_REQUIRE(!c.core->subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.P.d", {}, advisories.handler(), sub));
    BOOST_TEST_REQUIRE(!io.wait(c.core->flush(2s)));
    BOOST_TEST_REQUIRE(!io.wait(c.js.publish("p.x", "poison")).ec);
    for (std::uint64_t delivery = 1; delivery <= 2; ++delivery)
    {
        auto got = io.wait(js::fetch(c.js, "P", "d", batch_of(1)));
        BOOST_TEST_REQUIRE(got.value.size() == 1u);
        BOOST_TEST(got.value[0].metadata().delivered == delivery);
        BOOST_TEST_REQUIRE(!got.value[0].nak());
    }
    // The server finds the delivery count exhausted when it next tries to deliver: on a pull.
    auto after = io.wait(js::fetch(c.js, "P", "d", batch_of(1, 1s)));
    BOOST_TEST(after.value.empty());
    auto seen = advisories.wait_for(1, 10s);
    BOOST_TEST_REQUIRE(seen.size() == 1u);
    BOOST_TEST(seen[0].payload().find("\"stream_seq\":1") != std::string_view::npos);
    BOOST_TEST(seen[0].payload().find("io.nats.jetstream.advisory.v1.max_deliver") != std::string_view::npos);
    BOOST_TEST(io.wait(js::fetch(c.js, "P", "d", batch_of(1, 1s))).value.empty());
    // The message stays in the stream, readable by sequence for a dead letter.
    js::message_query first;
    first.seq = 1;
    BOOST_TEST(io.wait(c.js.get_message("P", first)).value.data == "poison");
}

BOOST_FIXTURE_TEST_CASE(consume_repulls_and_recreates_a_deleted_durable, jetstream_setup)
{
    make_stream(io, c.js, "C", {"c.>"});
    auto config = durable("r");
    make_durable(io, c.js, "C", config);
    consumed seen;
    js::consume_options o;
    o.batch = 10;
    o.expires = 2s;
    o.recreate_deleted_consumer = true;
    auto consumer = js::pull_consumer::create(c.js, "C", "r", o, seen.events(), config);
    stop_at_exit guard{consumer, seen};
    BOOST_TEST_REQUIRE(!consumer->start());
    libnats_peer peer(options_for(server));
    libnats_jetstream ljs(peer);
    for (int i = 0; i < 100; ++i)
        BOOST_TEST_REQUIRE(ljs.publish("c.x", "m" + std::to_string(i)).has_value());
    BOOST_TEST_REQUIRE(seen.wait_distinct(100, 20s));
    BOOST_TEST(consumer->pulls() > 10u); // a batch of 10 needed re-pulls
    // Delete the durable under it: the 409 Consumer Deleted makes it recreate and go on.
    BOOST_TEST_REQUIRE(!io.wait(c.js.delete_consumer("C", "r")).ec);
    BOOST_TEST_REQUIRE(eventually([&] { return !io.wait(c.js.get_consumer_info("C", "r")).ec; }, 10s));
    // The recreated durable delivers from the start of the stream again: messages are new for it.
    BOOST_TEST_REQUIRE(!io.wait(c.js.purge_stream("C")).ec);
    for (int i = 100; i < 110; ++i)
        BOOST_TEST_REQUIRE(ljs.publish("c.x", "m" + std::to_string(i)).has_value());
    BOOST_TEST(seen.wait_distinct(110, 20s));
    consumer->stop();
    BOOST_TEST_REQUIRE(seen.wait_stopped(10s));
    BOOST_TEST(*seen.stopped == js::js_errc::consume_stopped);
    std::lock_guard lock(seen.mutex);
    BOOST_TEST(seen.ack_failures == 0u);
}

BOOST_FIXTURE_TEST_CASE(consume_stops_on_a_deleted_consumer_unless_asked_to_recreate, jetstream_setup)
{
    make_stream(io, c.js, "D", {"d.>"});
    make_durable(io, c.js, "D", durable("r"));
    consumed seen;
    js::consume_options o;
    o.expires = 5s;
    auto consumer = js::pull_consumer::create(c.js, "D", "r", o, seen.events());
    stop_at_exit guard{consumer, seen};
    BOOST_TEST_REQUIRE(!consumer->start());
    BOOST_TEST_REQUIRE(eventually([&] { return io.wait(c.js.get_consumer_info("D", "r")).value.num_waiting > 0; }, 5s));
    BOOST_TEST_REQUIRE(!io.wait(c.js.delete_consumer("D", "r")).ec);
    BOOST_TEST_REQUIRE(seen.wait_stopped(10s));
    BOOST_TEST(*seen.stopped == js::js_errc::consumer_deleted);
}

BOOST_FIXTURE_TEST_CASE(missing_heartbeats_are_noticed_and_consuming_resumes, jetstream_setup)
{
    make_stream(io, c.js, "H", {"h.>"});
    make_durable(io, c.js, "H", durable("hb"));
    consumed seen;
    js::consume_options o;
    o.expires = 2s; // idle heartbeat every second
    auto consumer = js::pull_consumer::create(c.js, "H", "hb", o, seen.events());
    stop_at_exit guard{consumer, seen};
    BOOST_TEST_REQUIRE(!consumer->start());
    BOOST_TEST_REQUIRE(!io.wait(c.js.publish("h.x", "before")).ec);
    BOOST_TEST_REQUIRE(seen.wait_distinct(1, 10s));
    // A frozen server keeps the socket but sends nothing: no heartbeat, no 408.
    server.freeze();
    bool warned = eventually([&] {
        std::lock_guard lock(seen.mutex);
        return std::find(seen.warnings.begin(), seen.warnings.end(),
                         std::error_code(js::js_errc::heartbeats_missed)) != seen.warnings.end();
    }, 15s);
    server.thaw();
    BOOST_TEST(warned);
    BOOST_TEST_REQUIRE(!io.wait(c.js.publish("h.x", "after")).ec);
    BOOST_TEST(seen.wait_distinct(2, 15s));
}

BOOST_FIXTURE_TEST_CASE(a_durable_survives_a_server_restart_under_load, jetstream_setup)
{
    make_stream(io, c.js, "R", {"r.>"}, /*file=*/true);
    make_durable(io, c.js, "R", durable("keep", 5s));
    consumed seen;
    js::consume_options o;
    o.batch = 50;
    o.expires = 2s;
    auto consumer = js::pull_consumer::create(c.js, "R", "keep", o, seen.events());
    stop_at_exit guard{consumer, seen};
    BOOST_TEST_REQUIRE(!consumer->start());

    // libnats publishes with message ids, retrying what fails while the server is away; the
    // ids make a retried publish that did get stored count once.
    constexpr int total = 2000;
    std::atomic<int> published{0};
    std::thread publisher([&] {
        libnats_peer peer(options_for(server));
        libnats_jetstream ljs(peer);
        for (int i = 0; i < total; ++i)
        {
            for (int attempt = 0; attempt < 400; ++attempt)
            {
                if (ljs.publish("r.x", "n" + std::to_string(i), "id-" + std::to_string(i))) break;
                std::this_thread::sleep_for(50ms);
            }
            published = i + 1;
        }
    });
    BOOST_TEST_REQUIRE(eventually([&] { return published.load() >= total / 3; }, 60s));
    server.stop();
    server.start();
    publisher.join();
    BOOST_TEST(published.load() == total);
    BOOST_TEST_REQUIRE(seen.wait_distinct(total, 60s));
    BOOST_TEST(c.core->stats().reconnects >= 1u);
    auto stream = io.wait(c.js.get_stream_info("R"));
    BOOST_TEST(stream.value.state.messages == static_cast<std::uint64_t>(total));
    std::lock_guard lock(seen.mutex);
    BOOST_TEST(seen.by_payload.size() == static_cast<std::size_t>(total));
    BOOST_TEST(seen.by_payload.count("n0") == 1u);
    BOOST_TEST(seen.by_payload.count("n" + std::to_string(total - 1)) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
