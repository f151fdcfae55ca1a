// KV on JetStream streams against a real nats-server 2.9: the bucket's stream, values, revisions,
// markers, keys, a watch, and create-only races between two clients of which exactly one wins.
#include "jetstream_harness.hpp"
#include "libnats_jetstream.hpp"

#include <beamline/nats/jetstream/kv.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

using namespace beamline::test;
using namespace std::chrono_literals;

namespace
{

js::kv_bucket make_bucket(io_runner& io, js::context& ctx, const std::string& name, int history = 1)
{
    js::kv_config c;
    c.bucket = name;
    c.history = history;
    c.storage = "memory";
    auto r = io.wait(js::kv_bucket::create(ctx, c));
    if (r.ec) throw std::runtime_error("create bucket " + name + ": " + r.error_text());
    return r.value;
}

boost::asio::awaitable<js::api_result<std::uint64_t>> create_key(js::kv_bucket* b, std::string key, std::string value)
{
    co_return co_await b->create(std::move(key), std::move(value));
}

} // namespace

BOOST_AUTO_TEST_SUITE(jetstream_kv)

BOOST_FIXTURE_TEST_CASE(values_revisions_and_markers, jetstream_setup)
{
    auto kv = make_bucket(io, c.js, "cfg", 5);
    auto stream = io.wait(c.js.get_stream_info("KV_cfg"));
    BOOST_TEST_REQUIRE(!stream.ec);
    BOOST_TEST((stream.value.config.subjects == std::vector<std::string>{"$KV.cfg.>"}));
    BOOST_TEST(stream.value.config.allow_rollup_hdrs);
    BOOST_TEST(stream.value.config.max_msgs_per_subject == 5);

    BOOST_TEST(io.wait(kv.get("mode")).ec == js::js_errc::key_not_found);
    auto r1 = io.wait(kv.put("mode", "slow"));
    BOOST_TEST_REQUIRE(!r1.ec, r1.error_text());
    auto got = io.wait(kv.get("mode"));
    BOOST_TEST_REQUIRE(!got.ec);
    BOOST_TEST(got.value.value == "slow");
    BOOST_TEST(got.value.revision == r1.value);

    BOOST_TEST(io.wait(kv.create("mode", "x")).ec == js::js_errc::wrong_last_revision);
    BOOST_TEST(io.wait(kv.update("mode", "x", r1.value + 10)).ec == js::js_errc::wrong_last_revision);
    auto r2 = io.wait(kv.update("mode", "fast", r1.value));
    BOOST_TEST_REQUIRE(!r2.ec);
    BOOST_TEST(r2.value > r1.value);
    BOOST_TEST(io.wait(kv.get("mode")).value.value == "fast");

    BOOST_TEST_REQUIRE(!io.wait(kv.remove("mode")).ec);
    auto deleted = io.wait(kv.get("mode"));
    BOOST_TEST(deleted.ec == js::js_errc::key_not_found);
    BOOST_TEST((deleted.value.operation == js::kv_operation::del));
    // Create succeeds over a delete marker.
    auto again = io.wait(kv.create("mode", "new"));
    BOOST_TEST_REQUIRE(!again.ec, again.error_text());
    BOOST_TEST(io.wait(kv.get("mode")).value.value == "new");

    // Purge drops the history: only the marker is left for the key.
    BOOST_TEST_REQUIRE(!io.wait(kv.purge("mode")).ec);
    BOOST_TEST((io.wait(kv.get("mode")).value.operation == js::kv_operation::purge));
    BOOST_TEST(io.wait(c.js.get_stream_info("KV_cfg")).value.state.messages == 1u);

    BOOST_TEST_REQUIRE(!io.wait(kv.put("a.b", "1")).ec);
    BOOST_TEST_REQUIRE(!io.wait(kv.put("c", "2")).ec);
    auto keys = io.wait(kv.keys());
    BOOST_TEST_REQUIRE(!keys.ec);
    BOOST_TEST((keys.value == std::vector<std::string>{"a.b", "c"}));
    BOOST_TEST(io.wait(kv.put("bad key", "x")).ec == js::js_errc::invalid_key);
    BOOST_TEST(io.wait(js::kv_bucket::bind(c.js, "nothere")).ec == js::js_errc::stream_not_found);
    BOOST_TEST(!io.wait(js::kv_bucket::bind(c.js, "cfg")).ec);
}

BOOST_FIXTURE_TEST_CASE(watch_delivers_current_values_then_updates, jetstream_setup)
{
    auto kv = make_bucket(io, c.js, "w");
    BOOST_TEST_REQUIRE(!io.wait(kv.put("one", "1")).ec);
    BOOST_TEST_REQUIRE(!io.wait(kv.put("two", "2")).ec);
    BOOST_TEST_REQUIRE(!io.wait(kv.put("one", "1b")).ec);

    std::mutex mutex;
    std::vector<std::string> seen;
    std::atomic<bool> initial{false};
    std::size_t at_initial = 0;
    js::kv_bucket::watch_events events;
    events.entry = [&](const js::kv_entry& e) {
        std::lock_guard lock(mutex);
        seen.push_back(e.key + "=" + e.value + (e.operation == js::kv_operation::del ? "(del)" : ""));
    };
    std::atomic<bool> stopped{false};
    events.stopped = [&](std::error_code) { stopped = true; };
    events.initial_done = [&] {
        std::lock_guard lock(mutex);
        at_initial = seen.size();
        initial = true;
    };
    auto watcher = io.wait(kv.watch(events));
    BOOST_TEST_REQUIRE(!watcher.ec, watcher.error_text());
    BOOST_TEST_REQUIRE(eventually([&] { return initial.load(); }, 10s));
    BOOST_TEST_REQUIRE(!io.wait(kv.put("three", "3")).ec);
    BOOST_TEST_REQUIRE(!io.wait(kv.remove("two")).ec);
    BOOST_TEST_REQUIRE(eventually([&] {
        std::lock_guard lock(mutex);
        return seen.size() >= 4;
    }, 10s));
    watcher.value->stop();
    // Events run until `stopped`: wait for it before the locals they touch go.
    BOOST_TEST_REQUIRE(eventually([&] { return stopped.load(); }, 10s));
    std::lock_guard lock(mutex);
    BOOST_TEST(at_initial == 2u);
    BOOST_TEST((seen == std::vector<std::string>{"two=2", "one=1b", "three=3", "two=(del)"}));
}

BOOST_AUTO_TEST_CASE(create_only_races_have_one_winner)
{
    nats_server server(jetstream_server_options());
    io_runner io(4);
    jetstream_client a(io, server);
    jetstream_client b(io, server);
    auto kv_a = make_bucket(io, a.js, "locks");
    auto kv_b = io.wait(js::kv_bucket::bind(b.js, "locks")).value;
    for (int round = 0; round < 20; ++round)
    {
        std::string key = "leader-" + std::to_string(round);
        // Both start before either is awaited: the two creates are in flight together.
        auto fa = boost::asio::co_spawn(io.executor(), create_key(&kv_a, key, "a"), boost::asio::use_future);
        auto fb = boost::asio::co_spawn(io.executor(), create_key(&kv_b, key, "b"), boost::asio::use_future);
        auto ra = fa.get();
        auto rb = fb.get();
        BOOST_TEST_CONTEXT(key)
        {
            BOOST_TEST((!ra.ec) != (!rb.ec)); // exactly one wins
            const auto& loser = ra.ec ? ra : rb;
            BOOST_TEST(loser.ec == js::js_errc::wrong_last_revision);
            auto value = io.wait(kv_a.get(key));
            BOOST_TEST(value.value.value == (ra.ec ? "b" : "a"));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
