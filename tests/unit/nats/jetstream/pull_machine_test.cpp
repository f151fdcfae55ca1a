// The consume decisions with a fake clock: the test says what time it is.
#include <beamline/nats/jetstream/error.hpp>
#include <beamline/nats/jetstream/pull_machine.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

using namespace beamline::nats::jetstream;
using namespace std::chrono_literals;
using kind = consume_action::kind;

namespace
{

struct fake_clock
{
    pull_machine::time_point now{std::chrono::hours(1000)};
    pull_machine::time_point advance(consume_clock::duration d) { return now += d; }
};

std::size_t count(const std::vector<consume_action>& a, kind k)
{
    std::size_t n = 0;
    for (const auto& x : a)
        n += x.what == k;
    return n;
}

const consume_action* first(const std::vector<consume_action>& a, kind k)
{
    for (const auto& x : a)
        if (x.what == k) return &x;
    return nullptr;
}

status_info status(int code, std::string_view description, std::uint64_t msgs = 0, std::uint64_t bytes = 0)
{
    status_info s = classify_status(code, description);
    s.pending_messages = msgs;
    s.pending_bytes = bytes;
    return s;
}

consume_options options_with(std::size_t batch, std::chrono::milliseconds expires = 30s)
{
    consume_options o;
    o.batch = batch;
    o.expires = expires;
    return o;
}

} // namespace

BOOST_AUTO_TEST_SUITE(jetstream_pull_machine)

BOOST_AUTO_TEST_CASE(starts_with_a_full_pull_and_the_default_heartbeat)
{
    fake_clock clock;
    pull_machine m(options_with(10));
    BOOST_TEST(m.heartbeat().count() == 15000); // expires/2
    auto a = m.start(clock.now);
    BOOST_TEST_REQUIRE(a.size() == 1u);
    BOOST_TEST((a[0].what == kind::pull));
    BOOST_TEST(a[0].request.batch == 10u);
    BOOST_TEST(a[0].request.expires.count() == 30000);
    BOOST_TEST(a[0].request.heartbeat.count() == 15000);
    BOOST_TEST(m.pending_messages() == 10u);
    BOOST_TEST(m.start(clock.now).empty()); // once

    auto body = boost::json::parse(encode_pull_request(a[0].request)).as_object();
    BOOST_TEST(body.at("batch").to_number<int>() == 10);
    BOOST_TEST(body.at("expires").to_number<std::int64_t>() == 30000000000LL);
    BOOST_TEST(body.at("idle_heartbeat").to_number<std::int64_t>() == 15000000000LL);
    BOOST_TEST(!body.contains("no_wait"));
}

BOOST_AUTO_TEST_CASE(heartbeat_defaults_are_clamped)
{
    BOOST_TEST(pull_machine(options_with(1, 500ms)).heartbeat().count() == 0);
    BOOST_TEST(pull_machine(options_with(1, 1s)).heartbeat().count() == 500);
    BOOST_TEST(pull_machine(options_with(1, 5min)).heartbeat().count() == 30000);
    consume_options off = options_with(1);
    off.heartbeat = -1ms;
    BOOST_TEST(pull_machine(off).heartbeat().count() == 0);
}

BOOST_AUTO_TEST_CASE(repulls_the_difference_at_the_message_threshold)
{
    fake_clock clock;
    pull_machine m(options_with(10)); // threshold 5
    m.start(clock.now);
    for (int i = 0; i < 4; ++i)
        BOOST_TEST(m.on_message(clock.advance(1ms), 100).empty());
    BOOST_TEST(m.pending_messages() == 6u);
    auto a = m.on_message(clock.advance(1ms), 100); // 5 left: at the threshold
    BOOST_TEST_REQUIRE(count(a, kind::pull) == 1u);
    BOOST_TEST(first(a, kind::pull)->request.batch == 5u);
    BOOST_TEST(m.pending_messages() == 10u);
}

BOOST_AUTO_TEST_CASE(repulls_at_the_byte_threshold)
{
    fake_clock clock;
    consume_options o = options_with(1000);
    o.max_bytes = 1000; // threshold 500
    pull_machine m(o);
    auto start = m.start(clock.now);
    BOOST_TEST(start[0].request.max_bytes == 1000u);
    BOOST_TEST(m.on_message(clock.advance(1ms), 400).empty());
    auto a = m.on_message(clock.advance(1ms), 200); // 400 bytes left
    BOOST_TEST_REQUIRE(count(a, kind::pull) == 1u);
    BOOST_TEST(first(a, kind::pull)->request.max_bytes == 600u);
    BOOST_TEST(first(a, kind::pull)->request.batch == 2u);
}

BOOST_AUTO_TEST_CASE(missed_heartbeats_warn_and_pull_afresh)
{
    fake_clock clock;
    consume_options o = options_with(10, 30s);
    o.heartbeat = 5s;
    pull_machine m(o);
    BOOST_TEST(m.heartbeat().count() == 5000);
    m.start(clock.now);
    BOOST_TEST(m.tick(clock.advance(9s)).empty());
    BOOST_TEST_REQUIRE(m.next_deadline().has_value());
    BOOST_TEST((*m.next_deadline() == clock.now + 1s));
    // A heartbeat moves the deadline.
    BOOST_TEST(m.on_status(clock.now, status(100, "Idle Heartbeat")).empty());
    BOOST_TEST(m.tick(clock.advance(9s)).empty());
    auto a = m.tick(clock.advance(1s));
    BOOST_TEST_REQUIRE(count(a, kind::warn) == 1u);
    BOOST_TEST(first(a, kind::warn)->error == js_errc::heartbeats_missed);
    BOOST_TEST_REQUIRE(count(a, kind::pull) == 1u);
    BOOST_TEST(first(a, kind::pull)->request.batch == 10u);
    BOOST_TEST(!m.stopped());
}

BOOST_AUTO_TEST_CASE(disconnect_pauses_and_reconnect_pulls_a_full_batch)
{
    fake_clock clock;
    pull_machine m(options_with(10, 10s));
    m.start(clock.now);
    m.on_message(clock.advance(1ms), 10);
    m.on_disconnected(clock.now);
    // No heartbeat warnings and nothing timed while disconnected, however long it lasts.
    BOOST_TEST(m.tick(clock.advance(1min)).empty());
    BOOST_TEST(!m.next_deadline().has_value());
    auto a = m.on_reconnected(clock.advance(1s));
    BOOST_TEST_REQUIRE(count(a, kind::pull) == 1u);
    BOOST_TEST(first(a, kind::pull)->request.batch == 10u); // the old pulls died with the connection
    BOOST_TEST(count(a, kind::warn) == 0u);
    BOOST_TEST(m.tick(clock.advance(9s)).empty());
}

BOOST_AUTO_TEST_CASE(request_timeout_subtracts_what_the_pull_had_left)
{
    fake_clock clock;
    pull_machine m(options_with(10));
    m.start(clock.now);
    for (int i = 0; i < 3; ++i)
        m.on_message(clock.advance(1ms), 10);
    // The 408 says its pull still had 7 outstanding: nothing pending now, pull a full batch.
    auto a = m.on_status(clock.advance(30s), status(408, "Request Timeout", 7, 0));
    BOOST_TEST_REQUIRE(count(a, kind::pull) == 1u);
    BOOST_TEST(first(a, kind::pull)->request.batch == 10u);
    BOOST_TEST(count(a, kind::warn) == 0u);
}

BOOST_AUTO_TEST_CASE(an_ended_pull_leaves_the_others_counted)
{
    fake_clock clock;
    pull_machine m(options_with(10)); // threshold 5
    m.start(clock.now);
    for (int i = 0; i < 5; ++i)
        m.on_message(clock.advance(1ms), 10);
    // Two pulls are open now: the first with 5 left, the re-pull of 5.
    BOOST_TEST(m.pending_messages() == 10u);
    auto a = m.on_status(clock.advance(30s), status(408, "Request Timeout", 5, 0));
    BOOST_TEST(m.pending_messages() == 10u);
    BOOST_TEST_REQUIRE(count(a, kind::pull) == 1u);
    BOOST_TEST(first(a, kind::pull)->request.batch == 5u); // not 10: the second pull is still open
}

BOOST_AUTO_TEST_CASE(exceeded_limits_warn_then_retry_after_the_delay)
{
    fake_clock clock;
    pull_machine m(options_with(10));
    m.start(clock.now);
    auto a = m.on_status(clock.advance(1ms), status(409, "Exceeded MaxWaiting", 10, 0));
    BOOST_TEST_REQUIRE(count(a, kind::warn) == 1u);
    BOOST_TEST(first(a, kind::warn)->error == js_errc::pull_refused);
    BOOST_TEST(count(a, kind::pull) == 0u);
    BOOST_TEST(m.tick(clock.advance(500ms)).empty());
    auto b = m.tick(clock.advance(500ms));
    BOOST_TEST(count(b, kind::pull) == 1u);
    BOOST_TEST(!m.stopped());
}

BOOST_AUTO_TEST_CASE(silent_409s_just_pull_again)
{
    for (const char* d : {"Message Size Exceeds MaxBytes", "Leadership Change"})
        BOOST_TEST_CONTEXT(d)
        {
            fake_clock clock;
            pull_machine m(options_with(4));
            m.start(clock.now);
            auto a = m.on_status(clock.advance(1ms), status(409, d, 4, 0));
            BOOST_TEST(count(a, kind::warn) == 0u);
            BOOST_TEST(count(a, kind::pull) == 1u);
        }
}

BOOST_AUTO_TEST_CASE(terminal_409s_stop)
{
    for (const char* d : {"Consumer Deleted", "Consumer is push based"})
        BOOST_TEST_CONTEXT(d)
        {
            fake_clock clock;
            pull_machine m(options_with(4));
            m.start(clock.now);
            auto a = m.on_status(clock.advance(1ms), status(409, d));
            BOOST_TEST_REQUIRE(count(a, kind::stop) == 1u);
            BOOST_TEST(m.stopped());
            BOOST_TEST(m.tick(clock.advance(1h)).empty());
            BOOST_TEST(m.on_message(clock.now, 1).empty());
        }
    fake_clock clock;
    pull_machine bad(options_with(4));
    bad.start(clock.now);
    auto a = bad.on_status(clock.now, status(400, "Bad Request"));
    BOOST_TEST_REQUIRE(count(a, kind::stop) == 1u);
    BOOST_TEST(first(a, kind::stop)->error == js_errc::bad_request);
}

BOOST_AUTO_TEST_CASE(a_deleted_consumer_is_recreated_when_asked)
{
    fake_clock clock;
    consume_options o = options_with(4);
    o.recreate_deleted_consumer = true;
    pull_machine m(o);
    m.start(clock.now);
    auto a = m.on_status(clock.advance(1ms), status(409, "Consumer Deleted"));
    BOOST_TEST_REQUIRE(a.size() == 1u);
    BOOST_TEST((a[0].what == kind::recreate_consumer));
    // While it is being recreated, nothing pulls.
    BOOST_TEST(m.tick(clock.advance(1h)).empty());
    auto b = m.on_consumer_recreated(clock.now);
    BOOST_TEST_REQUIRE(count(b, kind::pull) == 1u);
    BOOST_TEST(first(b, kind::pull)->request.batch == 4u);
    // A failed recreation stops.
    auto c = m.on_status(clock.advance(1ms), status(409, "Consumer Deleted"));
    BOOST_TEST(count(c, kind::recreate_consumer) == 1u);
    auto d = m.on_recreate_failed(clock.now, js_errc::stream_not_found);
    BOOST_TEST_REQUIRE(count(d, kind::stop) == 1u);
    BOOST_TEST(first(d, kind::stop)->error == js_errc::stream_not_found);
}

BOOST_AUTO_TEST_CASE(a_lost_expiry_is_noticed_without_heartbeats)
{
    fake_clock clock;
    consume_options o = options_with(4, 2s);
    o.heartbeat = -1ms;
    pull_machine m(o);
    m.start(clock.now);
    BOOST_TEST(m.tick(clock.advance(2s)).empty());
    auto a = m.tick(clock.advance(1s));
    BOOST_TEST(count(a, kind::warn) == 0u);
    BOOST_TEST(count(a, kind::pull) == 1u);
}

BOOST_AUTO_TEST_CASE(a_failed_pull_warns_and_retries)
{
    fake_clock clock;
    pull_machine m(options_with(4));
    m.start(clock.now);
    auto a = m.on_pull_failed(clock.now, js_errc::not_enabled);
    BOOST_TEST(count(a, kind::warn) == 1u);
    BOOST_TEST(m.pending_messages() == 0u);
    BOOST_TEST(count(m.tick(clock.advance(1s)), kind::pull) == 1u);
}

BOOST_AUTO_TEST_CASE(stop_is_reported_once)
{
    fake_clock clock;
    pull_machine m(options_with(4));
    m.start(clock.now);
    BOOST_TEST(count(m.stop(js_errc::consume_stopped), kind::stop) == 1u);
    BOOST_TEST(m.stop(js_errc::consume_stopped).empty());
}

BOOST_AUTO_TEST_CASE(paced_it_pulls_the_next_batch_only_when_the_last_is_delivered_and_settled)
{
    fake_clock clock;
    pull_machine m(options_with(10));
    m.start(clock.now);
    BOOST_TEST(m.set_paced(clock.now, true).empty()); // a pull is out: nothing more
    for (int i = 0; i < 9; ++i)
        BOOST_TEST(m.on_message(clock.advance(1ms), 100).empty()); // no threshold pull
    BOOST_TEST(m.on_settled(clock.advance(1ms), 9).empty());        // one message still to come
    BOOST_TEST(m.on_message(clock.advance(1ms), 100).empty());      // delivered, not yet settled
    BOOST_TEST(m.unsettled() == 1u);
    auto a = m.on_settled(clock.advance(1ms));
    BOOST_TEST_REQUIRE(count(a, kind::pull) == 1u);
    BOOST_TEST(first(a, kind::pull)->request.batch == 10u); // a full batch, once
    BOOST_TEST(m.on_settled(clock.advance(1ms)).empty());
}

BOOST_AUTO_TEST_CASE(paced_a_pull_that_ends_short_is_followed_once_its_messages_are_settled)
{
    fake_clock clock;
    pull_machine m(options_with(10));
    m.start(clock.now);
    m.set_paced(clock.now, true);
    for (int i = 0; i < 3; ++i)
        m.on_message(clock.advance(1ms), 100);
    // The server ends the pull with 7 left: the three delivered are still being processed.
    BOOST_TEST(count(m.on_status(clock.advance(1ms), status(408, "Request Timeout", 7)), kind::pull) == 0u);
    BOOST_TEST(m.pending_messages() == 0u);
    BOOST_TEST(count(m.on_settled(clock.advance(1ms), 3), kind::pull) == 1u);
}

BOOST_AUTO_TEST_CASE(unpaced_again_it_pulls_ahead_at_once)
{
    fake_clock clock;
    pull_machine m(options_with(10)); // threshold 5
    m.start(clock.now);
    m.set_paced(clock.now, true);
    for (int i = 0; i < 6; ++i)
        BOOST_TEST(m.on_message(clock.advance(1ms), 100).empty());
    auto a = m.set_paced(clock.advance(1ms), false); // 4 pending, under the threshold
    BOOST_TEST_REQUIRE(count(a, kind::pull) == 1u);
    BOOST_TEST(first(a, kind::pull)->request.batch == 6u);
    BOOST_TEST(!m.paced());
    // Unpaced, settling is bookkeeping only.
    BOOST_TEST(m.on_settled(clock.advance(1ms), 6).empty());
}

BOOST_AUTO_TEST_CASE(paced_a_reconnect_waits_for_what_is_still_in_process)
{
    fake_clock clock;
    pull_machine m(options_with(10));
    m.start(clock.now);
    m.set_paced(clock.now, true);
    m.on_message(clock.advance(1ms), 100);
    m.on_disconnected(clock.advance(1ms));
    BOOST_TEST(count(m.on_reconnected(clock.advance(1ms)), kind::pull) == 0u);
    BOOST_TEST(count(m.on_settled(clock.advance(1ms)), kind::pull) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
