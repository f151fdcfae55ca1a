// The project's NATS client when things go wrong: the server restarts under publish load, the server
// freezes (stale connection), a subscriber cannot keep up (slow consumer).
#include "client_harness.hpp"

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <map>
#include <mutex>
#include <string>
#include <thread>

using namespace beamline::test;
using namespace std::chrono_literals;
namespace nats = beamline::nats;

namespace
{

// Error codes reported through the client's events, from the client's strand.
struct event_log
{
    std::mutex mutex;
    std::vector<std::error_code> disconnects;
    std::vector<std::pair<std::error_code, std::string>> errors;
    std::atomic<int> reconnected{0};

    nats::client_events events()
    {
        nats::client_events e;
        e.disconnected = [this](std::error_code ec)
        {
            std::lock_guard lock(mutex);
            disconnects.push_back(ec);
        };
        e.error = [this](std::error_code ec, std::string_view text)
        {
            std::lock_guard lock(mutex);
            errors.emplace_back(ec, std::string(text));
        };
        e.reconnected = [this] { ++reconnected; };
        return e;
    }
    bool disconnected_with(std::error_code ec)
    {
        std::lock_guard lock(mutex);
        return std::find(disconnects.begin(), disconnects.end(), ec) != disconnects.end();
    }
    std::size_t disconnect_count()
    {
        std::lock_guard lock(mutex);
        return disconnects.size();
    }
    std::size_t error_count(std::error_code ec)
    {
        std::lock_guard lock(mutex);
        return std::count_if(errors.begin(), errors.end(), [&](const auto& e) { return e.first == ec; });
    }
};

// Pings every 200 ms and gives up after two unanswered, so a frozen server is found in about 0.6 s.
nats::client_options quick_stale_options(const nats_server& server)
{
    auto options = client_options_for(server);
    options.ping_interval = 200ms;
    options.max_pings_out = 2;
    options.connect_timeout = 500ms;
    options.reconnect_wait = 200ms;
    return options;
}

} // namespace

BOOST_AUTO_TEST_SUITE(nats_client_resilience)

BOOST_AUTO_TEST_CASE(server_restart_under_publish_load_loses_nothing_published_after_it)
{
    nats_server server;
    io_runner io;
    event_log log;
    auto options = client_options_for(server);
    options.reconnect_wait = 200ms;
    auto c = connected_client(io, options, log.events());

    // Our own subscription sees our own publishes (echo): it is re-sent on reconnect before the
    // reconnect buffer, so everything buffered while the server was away must reach it.
    std::mutex seen_mutex;
    std::map<int, int> seen; // sequence number -> times received
    nats::subscription_ptr sub;
    BOOST_TEST_REQUIRE(!c->subscribe(
        "it.load", {},
        [&](nats::message m)
        {
            std::lock_guard lock(seen_mutex);
            ++seen[std::stoi(std::string(m.payload()))];
        },
        sub));
    BOOST_TEST_REQUIRE(!io.wait(c->flush(2s)));

    constexpr int total = 3000;
    std::atomic<int> next{0};
    std::vector<char> must_arrive(total, 0); // written by the publisher thread only
    std::atomic<int> failed_publishes{0};
    std::atomic<int> buffered_publishes{0};
    std::atomic<int> restarted_at{total};
    std::thread publisher(
        [&]
        {
            for (int i = 0; i < total; ++i)
            {
                // Published while the client knows it is disconnected, or after the restart: either
                // way it must arrive (from the reconnect buffer, or directly).
                bool buffered = c->state() == nats::connection_state::reconnecting;
                if (c->publish("it.load", std::to_string(i)))
                    ++failed_publishes;
                else if (buffered || i >= restarted_at.load())
                    must_arrive[i] = 1;
                if (buffered) ++buffered_publishes;
                next.store(i + 1);
                std::this_thread::sleep_for(1ms);
            }
        });
    BOOST_TEST(eventually([&] { return next.load() >= 300; }, 10s));
    server.stop();
    BOOST_TEST(eventually([&] { return c->state() == nats::connection_state::reconnecting; }, 5s));
    // The server comes back once the reconnect buffer holds publishes, not after a fixed pause a
    // starved publisher thread might sleep through.
    BOOST_TEST(eventually([&] { return buffered_publishes.load() >= 50; }, 10s));
    server.start();
    restarted_at.store(next.load() + 1);
    publisher.join();

    BOOST_TEST(eventually([&] { return c->connected(); }, 10s), "state " << to_string(c->state()));
    BOOST_TEST_REQUIRE(!io.wait(c->flush(5s)));
    BOOST_TEST(failed_publishes.load() == 0);
    BOOST_TEST(buffered_publishes.load() > 0); // the reconnect buffer was exercised
    BOOST_TEST(log.reconnected.load() >= 1);
    BOOST_TEST(c->stats().reconnects >= 1u);
    BOOST_TEST(log.disconnect_count() >= 1u);

    int expected = 0, missing = 0, duplicated = 0;
    {
        std::lock_guard lock(seen_mutex);
        for (int i = 0; i < total; ++i)
        {
            auto it = seen.find(i);
            int times = it == seen.end() ? 0 : it->second;
            if (times > 1) ++duplicated;
            if (must_arrive[i])
            {
                ++expected;
                if (times != 1) ++missing;
            }
        }
    }
    BOOST_TEST(expected > total / 2);
    BOOST_TEST(missing == 0);
    BOOST_TEST(duplicated == 0);
    close_and_wait(*c);
}

BOOST_AUTO_TEST_CASE(frozen_server_is_detected_as_stale_and_the_client_recovers_after_thaw)
{
    nats_server server;
    io_runner io;
    event_log log;
    auto c = connected_client(io, quick_stale_options(server), log.events());
    client_inbox inbox;
    nats::subscription_ptr sub;
    BOOST_TEST_REQUIRE(!c->subscribe("it.stale", {}, inbox.handler(), sub));
    BOOST_TEST_REQUIRE(!io.wait(c->flush(2s)));

    server.freeze();
    BOOST_TEST(eventually([&] { return log.disconnected_with(nats::errc::stale_connection); }, 10s));
    BOOST_TEST(c->state() != nats::connection_state::connected);
    BOOST_TEST(c->state() != nats::connection_state::closed);
    BOOST_TEST(!c->publish("it.stale", "while frozen"));
    server.thaw();

    BOOST_TEST(eventually([&] { return c->connected(); }, 15s), "state " << to_string(c->state()));
    BOOST_TEST(log.reconnected.load() >= 1);
    BOOST_TEST(!c->publish("it.stale", "after thaw"));
    auto got = inbox.wait_for(2, 5s);
    BOOST_TEST_REQUIRE(got.size() == 2u);
    BOOST_TEST(got[0].payload() == "while frozen"); // from the reconnect buffer
    BOOST_TEST(got[1].payload() == "after thaw");
    close_and_wait(*c);
}

BOOST_AUTO_TEST_CASE(a_streaming_publisher_neither_hides_a_frozen_server_nor_survives_into_garbage)
{
    // A publisher on its own thread writes full blocks to the socket itself. When the server
    // freezes, the socket fills: the publisher must hand over, the connection must still be
    // found stale, and after the thaw the stream must go on intact on the new connection.
    nats_server server;
    io_runner io;
    event_log log;
    auto c = connected_client(io, quick_stale_options(server), log.events());
    // What reaches a subscriber is what the server took from the stream. Whether the publisher
    // or the writer wrote a given block depends on scheduling, so the test waits on delivery.
    libnats_peer watcher(options_for(server));
    BOOST_TEST_REQUIRE(watcher.connected(), watcher.error());
    message_counter delivered(watcher, "it.firehose");
    BOOST_TEST_REQUIRE(delivered.status() == NATS_OK);
    constexpr std::uint64_t flowing = 2000; // 400 kB: many 32 KiB blocks

    std::atomic<bool> stop{false};
    std::atomic<long> accepted{0}, refused{0};
    std::thread publisher(
        [&]
        {
            std::string payload(200, 's');
            while (!stop.load())
            {
                if (c->publish("it.firehose", payload))
                {
                    ++refused; // a full buffer while frozen, or a full reconnect buffer
                    std::this_thread::sleep_for(1ms);
                }
                else
                {
                    ++accepted;
                }
            }
        });
    BOOST_TEST(eventually([&] { return delivered.count() > flowing; }, 10s));
    server.freeze();
    BOOST_TEST(eventually([&] { return log.disconnected_with(nats::errc::stale_connection); }, 10s));
    server.thaw();
    BOOST_TEST(eventually([&] { return log.reconnected.load() >= 1 && c->connected(); }, 15s),
               "state " << to_string(c->state()));
    // The stream goes on over the new connection.
    const std::uint64_t before = delivered.count();
    BOOST_TEST(eventually([&] { return delivered.count() > before + flowing; }, 10s));
    stop.store(true);
    publisher.join();
    BOOST_TEST(accepted.load() > 0);

    // The connection carries a numbered stream intact: no torn frame was left in it.
    libnats_peer peer(options_for(server));
    BOOST_TEST_REQUIRE(peer.connected(), peer.error());
    stream_reader reader(peer, "it.after");
    BOOST_TEST_REQUIRE(reader.status() == NATS_OK);
    BOOST_TEST_REQUIRE(peer.flush() == NATS_OK);
    BOOST_TEST_REQUIRE(!io.wait(c->flush(5s)));
    std::size_t disconnects = log.disconnect_count();
    std::thread second([&] { publish_stream(*c, "it.after", 0, 20000, 150); });
    second.join();
    BOOST_TEST_REQUIRE(!io.wait(c->flush(10s)));
    BOOST_TEST(reader.expect(0, 20000, 150) == 0);
    BOOST_TEST(log.disconnect_count() == disconnects); // the server found nothing to refuse
    close_and_wait(*c);
}

BOOST_AUTO_TEST_CASE(pending_request_fails_with_disconnected_when_the_server_goes_away)
{
    nats_server server;
    io_runner io;
    libnats_peer peer(options_for(server));
    BOOST_TEST_REQUIRE(peer.connected(), peer.error());
    message_collector silent(peer, "it.never.answers");
    BOOST_TEST_REQUIRE(peer.flush() == NATS_OK);
    auto options = client_options_for(server);
    options.reconnect_wait = 200ms;
    auto c = connected_client(io, options);

    auto pending =
        asio::co_spawn(io.executor(), c->request("it.never.answers", "hello?", 60s), asio::use_future);
    BOOST_TEST_REQUIRE(silent.wait_for(1, 5s).size() == 1u); // the request reached the server
    server.stop();
    BOOST_TEST_REQUIRE((pending.wait_for(10s) == std::future_status::ready));
    auto [ec, reply] = pending.get();
    BOOST_TEST((ec == nats::errc::disconnected), ec.message());

    server.start();
    BOOST_TEST(eventually([&] { return c->connected(); }, 10s), "state " << c->state());
    BOOST_TEST(!io.wait(c->flush(2s)));
    close_and_wait(*c);
}

BOOST_AUTO_TEST_CASE(slow_consumer_drops_beyond_its_pending_limit_and_reports_once)
{
    nats_server server;
    io_runner io; // two threads: the blocked handler holds one, the connection reads on the other
    event_log log;
    auto c = connected_client(io, client_options_for(server), log.events());

    std::mutex gate_mutex;
    std::condition_variable gate_opened;
    bool open = false;
    std::atomic<int> handled{0};
    nats::subscription_ptr sub;
    BOOST_TEST_REQUIRE(!c->subscribe(
        "it.slow", {.queue = {}, .pending_msgs = 10},
        [&](nats::message)
        {
            std::unique_lock lock(gate_mutex);
            gate_opened.wait_for(lock, 20s, [&] { return open; });
            ++handled;
        },
        sub));
    BOOST_TEST_REQUIRE(!io.wait(c->flush(2s)));

    libnats_peer peer(options_for(server));
    BOOST_TEST_REQUIRE(peer.connected(), peer.error());
    constexpr int total = 100;
    BOOST_TEST_REQUIRE(publish_numbered(peer, "it.slow", total) == NATS_OK);
    BOOST_TEST_REQUIRE(!io.wait(c->flush(2s))); // every message has reached the subscription

    BOOST_TEST(sub->dropped() > 0u);
    BOOST_TEST(sub->pending_msgs() <= 10u);
    BOOST_TEST(log.error_count(nats::errc::slow_consumer) == 1u);
    BOOST_TEST(c->stats().dropped_msgs == sub->dropped());
    BOOST_TEST(c->connected());
    {
        std::lock_guard lock(gate_mutex);
        open = true;
    }
    gate_opened.notify_all();
    BOOST_TEST(eventually([&] { return handled.load() + sub->dropped() == total; }, 5s),
               "handled " << handled.load() << " dropped " << sub->dropped());
    BOOST_TEST(handled.load() <= 10);
    close_and_wait(*c);
}

BOOST_AUTO_TEST_SUITE_END()
