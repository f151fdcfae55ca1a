// The project's NATS client against a real nats-server, with the official C client (libnats) as the
// independent peer: publish/subscribe, queue groups, headers both ways, request/reply, auto-unsubscribe,
// flush, drain and the server's max_payload.
#include "client_harness.hpp"

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

using namespace beamline::test;
using namespace std::chrono_literals;
namespace nats = beamline::nats;

namespace
{

std::vector<std::string> values_of(const header_list& headers, const std::string& key)
{
    std::vector<std::string> out;
    for (const auto& [k, v] : headers)
        if (k == key) out.push_back(v);
    return out;
}

std::vector<std::string> values_of(const nats::message& m, std::string_view key)
{
    std::vector<std::string> out;
    auto parsed = m.parsed_headers(); // values() views into it
    for (auto v : parsed.values(key))
        out.emplace_back(v);
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(nats_client_messaging)

BOOST_AUTO_TEST_CASE(connects_publishes_and_receives_its_own_subscription)
{
    nats_server server;
    io_runner io;
    std::atomic<int> connected_events{0};
    nats::client_events events;
    events.connected = [&] { ++connected_events; };
    auto c = connected_client(io, client_options_for(server), events);
    BOOST_TEST(c->connected());
    BOOST_TEST(connected_events.load() == 1);
    BOOST_TEST(c->current_server() == server.url());
    BOOST_TEST(c->server_info().max_payload > 0);

    client_inbox inbox;
    nats::subscription_ptr sub;
    BOOST_TEST_REQUIRE(!c->subscribe("it.plain", {}, inbox.handler(), sub));
    BOOST_TEST_REQUIRE(!io.wait(c->flush(2s)));
    BOOST_TEST(!c->publish("it.plain", "first"));
    BOOST_TEST(!c->publish("it.plain", "second", "it.reply.to"));
    BOOST_TEST(!io.wait(c->flush(2s)));

    auto got = inbox.wait_for(2, 5s);
    BOOST_TEST_REQUIRE(got.size() == 2u);
    BOOST_TEST(got[0].subject() == "it.plain");
    BOOST_TEST(got[0].payload() == "first");
    BOOST_TEST(got[0].reply().empty());
    BOOST_TEST(got[1].payload() == "second");
    BOOST_TEST(got[1].reply() == "it.reply.to");
    BOOST_TEST(sub->delivered() == 2u);
    BOOST_TEST(c->stats().out_msgs >= 2u);
    BOOST_TEST(c->stats().in_msgs >= 2u);

    BOOST_TEST(c->publish("bad subject", "x") == nats::errc::invalid_subject);
    BOOST_TEST(c->publish("it..empty", "x") == nats::errc::invalid_subject);
    close_and_wait(*c);
    BOOST_TEST(c->publish("it.plain", "after close") == nats::errc::connection_closed);
}

BOOST_AUTO_TEST_CASE(failed_connects_name_their_cause)
{
    io_runner io;
    nats::client_options bad_url;
    bad_url.servers = {"nats://127.0.0.1:notaport"};
    auto c = nats::client::create(io.executor(), bad_url);
    BOOST_TEST((io.wait(c->connect()) == nats::errc::invalid_url));
    BOOST_TEST(c->last_error_text().find("nats://127.0.0.1:notaport") != std::string::npos,
               c->last_error_text());

    nats::client_options nobody;
    std::string where = "nats://127.0.0.1:" + std::to_string(free_loopback_port());
    nobody.servers = {where};
    auto d = nats::client::create(io.executor(), nobody);
    auto ec = io.wait(d->connect());
    BOOST_TEST((ec == std::errc::connection_refused), ec.message());
    BOOST_TEST(d->last_error_text().find(where) != std::string::npos, d->last_error_text());
    BOOST_TEST(eventually([&] { return d->state() == nats::connection_state::closed; }, 2s));
}

BOOST_AUTO_TEST_CASE(flush_is_a_round_trip_that_fails_when_not_connected)
{
    nats_server server;
    io_runner io;
    auto c = connected_client(io, client_options_for(server));
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(!io.wait(c->flush(2s)));
    close_and_wait(*c);
    BOOST_TEST(io.wait(c->flush(2s)) == nats::errc::not_connected);
}

BOOST_AUTO_TEST_CASE(messages_cross_between_our_client_and_libnats_both_ways)
{
    nats_server server;
    io_runner io;
    auto c = connected_client(io, client_options_for(server));
    libnats_peer peer(options_for(server));
    BOOST_TEST_REQUIRE(peer.connected(), peer.error());

    // ours -> libnats, with a multi-value header key
    message_collector theirs(peer, "it.to.libnats");
    BOOST_TEST_REQUIRE(theirs.status() == NATS_OK);
    BOOST_TEST_REQUIRE(peer.flush() == NATS_OK);
    nats::headers h;
    h.add("X-Tenant", "acme").add("X-Multi", "one").add("X-Multi", "two");
    BOOST_TEST(!c->publish("it.to.libnats", "from ours", "it.inbox.ours", &h));
    BOOST_TEST(!c->publish("it.to.libnats", std::string(100000, 'p')));
    auto seen = theirs.wait_for(2, 5s);
    BOOST_TEST_REQUIRE(seen.size() == 2u);
    BOOST_TEST(seen[0].data == "from ours");
    BOOST_TEST(seen[0].reply == "it.inbox.ours");
    BOOST_TEST(values_of(seen[0].headers, "X-Tenant") == std::vector<std::string>{"acme"});
    BOOST_TEST(values_of(seen[0].headers, "X-Multi") == (std::vector<std::string>{"one", "two"}));
    BOOST_TEST(seen[1].data == std::string(100000, 'p'));
    BOOST_TEST(seen[1].headers.empty());

    // libnats -> ours, with a multi-value header key
    client_inbox ours;
    nats::subscription_ptr sub;
    BOOST_TEST_REQUIRE(!c->subscribe("it.to.ours.>", {}, ours.handler(), sub));
    BOOST_TEST_REQUIRE(!io.wait(c->flush(2s)));
    BOOST_TEST(peer.publish("it.to.ours.a", "from libnats",
                            {{"X-Multi", "a"}, {"X-Multi", "b"}, {"X-Key", "v w"}},
                            "it.inbox.libnats") == NATS_OK);
    BOOST_TEST(peer.publish("it.to.ours.b", "") == NATS_OK);
    auto got = ours.wait_for(2, 5s);
    BOOST_TEST_REQUIRE(got.size() == 2u);
    BOOST_TEST(got[0].subject() == "it.to.ours.a");
    BOOST_TEST(got[0].payload() == "from libnats");
    BOOST_TEST(got[0].reply() == "it.inbox.libnats");
    BOOST_TEST(values_of(got[0], "X-Multi") == (std::vector<std::string>{"a", "b"}));
    BOOST_TEST(got[0].header("X-Key").value_or("") == "v w");
    BOOST_TEST(got[1].subject() == "it.to.ours.b");
    BOOST_TEST(got[1].payload().empty());
    BOOST_TEST(got[1].header_block().empty());
    close_and_wait(*c);
}

BOOST_AUTO_TEST_CASE(a_streaming_publishers_messages_arrive_once_in_order_with_direct_writes_on_and_off)
{
    nats_server server;
    io_runner io;
    // Direct writes on from a small block, so the publisher writes to the socket itself whenever
    // it finds the writer parked. How often that happens depends on scheduling, so the count is
    // reported, not asserted: what must hold is that the stream arrives intact either way.
    auto on = client_options_for(server);
    on.direct_write_bytes = 4 * 1024;
    auto c = connected_client(io, on);
    libnats_peer peer(options_for(server));
    BOOST_TEST_REQUIRE(peer.connected(), peer.error());
    stream_reader reader(peer, "it.stream");
    BOOST_TEST_REQUIRE(reader.status() == NATS_OK);
    BOOST_TEST_REQUIRE(peer.flush() == NATS_OK);

    // 60,000 messages of 200 bytes: 12 MB, thousands of 4 KiB blocks.
    constexpr int count = 60000;
    constexpr std::size_t size = 200;
    std::thread publisher([&] { publish_stream(*c, "it.stream", 0, count, size); });
    publisher.join();
    BOOST_TEST_REQUIRE(!io.wait(c->flush(10s)));
    BOOST_TEST(reader.expect(0, count, size) == 0);
    auto stats = c->stats();
    BOOST_TEST(stats.out_msgs == static_cast<std::uint64_t>(count));
    BOOST_TEST_MESSAGE("direct writes with direct_write_bytes=4096: " << stats.direct_writes);
    close_and_wait(*c);

    // With direct writes off, none is made: that does not depend on scheduling.
    auto off = client_options_for(server);
    off.direct_write_bytes = 0;
    auto c2 = connected_client(io, off);
    std::thread publisher2([&] { publish_stream(*c2, "it.stream", count, 20000, size); });
    publisher2.join();
    BOOST_TEST_REQUIRE(!io.wait(c2->flush(10s)));
    BOOST_TEST(reader.expect(count, 20000, size) == 0);
    BOOST_TEST(c2->stats().direct_writes == 0u);
    close_and_wait(*c2);
}

BOOST_AUTO_TEST_CASE(headers_round_trip_through_our_own_subscription)
{
    nats_server server;
    io_runner io;
    auto c = connected_client(io, client_options_for(server));
    client_inbox inbox;
    nats::subscription_ptr sub;
    BOOST_TEST_REQUIRE(!c->subscribe("it.headers", {}, inbox.handler(), sub));
    BOOST_TEST_REQUIRE(!io.wait(c->flush(2s)));
    nats::headers h;
    h.add("Trace-Id", "abc-123").add("Accept", "json").add("Accept", "text");
    BOOST_TEST(!c->publish("it.headers", "body", {}, &h));
    auto got = inbox.wait_for(1, 5s);
    BOOST_TEST_REQUIRE(got.size() == 1u);
    BOOST_TEST(got[0].payload() == "body");
    BOOST_TEST(got[0].header("Trace-Id").value_or("") == "abc-123");
    BOOST_TEST(values_of(got[0], "Accept") == (std::vector<std::string>{"json", "text"}));
    BOOST_TEST(got[0].status() == 0);
    close_and_wait(*c);
}

BOOST_AUTO_TEST_CASE(queue_subscribers_share_messages_each_delivered_once)
{
    nats_server server;
    io_runner io;
    auto first = connected_client(io, client_options_for(server));
    auto second = connected_client(io, client_options_for(server));
    client_inbox a, b;
    nats::subscription_ptr sub_a, sub_b;
    BOOST_TEST_REQUIRE(!first->subscribe("it.work", {.queue = "workers"}, a.handler(), sub_a));
    BOOST_TEST_REQUIRE(!second->subscribe("it.work", {.queue = "workers"}, b.handler(), sub_b));
    BOOST_TEST(sub_a->queue() == "workers");
    BOOST_TEST_REQUIRE(!io.wait(first->flush(2s)));
    BOOST_TEST_REQUIRE(!io.wait(second->flush(2s)));

    libnats_peer peer(options_for(server));
    BOOST_TEST_REQUIRE(peer.connected(), peer.error());
    constexpr int total = 200;
    BOOST_TEST_REQUIRE(publish_numbered(peer, "it.work", total) == NATS_OK);

    BOOST_TEST(eventually([&] { return a.messages().size() + b.messages().size() >= total; }, 5s));
    std::map<std::string, int> seen;
    for (const auto& m : a.messages())
        ++seen[std::string(m.payload())];
    for (const auto& m : b.messages())
        ++seen[std::string(m.payload())];
    BOOST_TEST(seen.size() == static_cast<std::size_t>(total));
    BOOST_TEST(std::all_of(seen.begin(), seen.end(), [](const auto& e) { return e.second == 1; }));
    BOOST_TEST(a.messages().size() > 0u);
    BOOST_TEST(b.messages().size() > 0u);
    close_and_wait(*first);
    close_and_wait(*second);
}

BOOST_AUTO_TEST_CASE(request_gets_the_libnats_responders_reply)
{
    nats_server server;
    io_runner io;
    libnats_peer service(options_for(server));
    BOOST_TEST_REQUIRE(service.connected(), service.error());
    responder echo(service, "it.svc.echo",
                   [](const received_message& m)
                   {
                       auto in = values_of(m.headers, "X-In");
                       return "echo:" + m.data + ":" + (in.empty() ? std::string("none") : in[0]);
                   });
    BOOST_TEST_REQUIRE(echo.status() == NATS_OK);
    BOOST_TEST_REQUIRE(service.flush() == NATS_OK);

    auto c = connected_client(io, client_options_for(server));
    nats::headers h;
    h.add("X-In", "hdr");
    for (int i = 0; i < 3; ++i)
    {
        auto [ec, reply] = io.wait(c->request("it.svc.echo", "ping" + std::to_string(i), 5s, &h));
        BOOST_TEST(!ec, ec.message());
        BOOST_TEST(reply.payload() == "echo:ping" + std::to_string(i) + ":hdr");
    }
    BOOST_TEST(echo.served() == 3u);
    close_and_wait(*c);
}

BOOST_AUTO_TEST_CASE(request_without_responders_fails_at_once_with_no_responders)
{
    nats_server server;
    io_runner io;
    auto c = connected_client(io, client_options_for(server));
    // The request's own timeout is far beyond the wait: only the server's 503 can end it in time.
    auto [ec, reply] = io.wait(c->request("it.nobody.home", "anyone?", 60s), 10s);
    BOOST_TEST((ec == nats::errc::no_responders), ec.message());
    BOOST_TEST(c->connected());

    // A responder that never answers gives a timeout instead.
    libnats_peer peer(options_for(server));
    BOOST_TEST_REQUIRE(peer.connected(), peer.error());
    message_collector silent(peer, "it.silent");
    BOOST_TEST_REQUIRE(peer.flush() == NATS_OK);
    auto [ec2, reply2] = io.wait(c->request("it.silent", "hello?", 300ms));
    BOOST_TEST((ec2 == nats::errc::timeout), ec2.message());
    BOOST_TEST(silent.wait_for(1, 2s).size() == 1u);
    close_and_wait(*c);
}

BOOST_AUTO_TEST_CASE(auto_unsubscribe_stops_after_max_msgs)
{
    nats_server server;
    io_runner io;
    auto c = connected_client(io, client_options_for(server));
    client_inbox inbox;
    nats::subscription_ptr sub;
    BOOST_TEST_REQUIRE(!c->subscribe("it.limited", {.queue = {}, .max_msgs = 5}, inbox.handler(), sub));
    BOOST_TEST_REQUIRE(!io.wait(c->flush(2s)));

    libnats_peer peer(options_for(server));
    BOOST_TEST_REQUIRE(peer.connected(), peer.error());
    BOOST_TEST_REQUIRE(publish_numbered(peer, "it.limited", 20) == NATS_OK);
    BOOST_TEST_REQUIRE(!io.wait(c->flush(2s))); // everything the server routed to us has been read

    auto got = inbox.wait_for(20, 500ms);
    BOOST_TEST_REQUIRE(got.size() == 5u);
    for (int i = 0; i < 5; ++i)
        BOOST_TEST(got[i].payload() == std::to_string(i));
    BOOST_TEST(sub->delivered() == 5u);
    close_and_wait(*c);
}

BOOST_AUTO_TEST_CASE(drain_delivers_queued_messages_then_closes)
{
    nats_server server;
    io_runner io;
    std::atomic<int> closed_events{0};
    nats::client_events events;
    events.closed = [&](std::error_code) { ++closed_events; };
    auto c = connected_client(io, client_options_for(server), events);

    std::atomic<int> handled{0};
    nats::subscription_ptr sub;
    BOOST_TEST_REQUIRE(!c->subscribe(
        "it.drain", {},
        [&](nats::message)
        {
            std::this_thread::sleep_for(5ms); // a slow handler: messages queue up behind it
            ++handled;
        },
        sub));
    BOOST_TEST_REQUIRE(!io.wait(c->flush(2s)));

    libnats_peer peer(options_for(server));
    BOOST_TEST_REQUIRE(peer.connected(), peer.error());
    constexpr int total = 50;
    BOOST_TEST_REQUIRE(publish_numbered(peer, "it.drain", total) == NATS_OK);
    BOOST_TEST_REQUIRE(!io.wait(c->flush(2s)));

    BOOST_TEST(!io.wait(c->drain(10s)));
    BOOST_TEST(handled.load() == total);
    BOOST_TEST(eventually([&] { return c->state() == nats::connection_state::closed; }, 5s));
    BOOST_TEST(eventually([&] { return closed_events.load() == 1; }, 5s));
    BOOST_TEST(c->publish("it.drain", "late") == nats::errc::connection_closed);
}

BOOST_AUTO_TEST_CASE(payload_over_the_servers_max_payload_is_refused_and_the_connection_stays)
{
    nats_server server({.max_payload = 1024});
    io_runner io;
    auto c = connected_client(io, client_options_for(server));
    BOOST_TEST(c->server_info().max_payload == 1024);
    client_inbox inbox;
    nats::subscription_ptr sub;
    BOOST_TEST_REQUIRE(!c->subscribe("it.big", {}, inbox.handler(), sub));

    BOOST_TEST(c->publish("it.big", std::string(2000, 'x')) == nats::errc::max_payload_exceeded);
    nats::headers h;
    h.add("X-Pad", std::string(600, 'h'));
    BOOST_TEST(c->publish("it.big", std::string(600, 'x'), {}, &h) == nats::errc::max_payload_exceeded);
    auto [ec, reply] = io.wait(c->request("it.big", std::string(2000, 'x'), 2s));
    BOOST_TEST((ec == nats::errc::max_payload_exceeded), ec.message());

    BOOST_TEST(!io.wait(c->flush(2s)));
    BOOST_TEST(c->connected());
    BOOST_TEST(!c->publish("it.big", std::string(1000, 'y')));
    auto got = inbox.wait_for(1, 5s);
    BOOST_TEST_REQUIRE(got.size() == 1u);
    BOOST_TEST(got[0].payload() == std::string(1000, 'y'));
    BOOST_TEST(c->stats().reconnects == 0u);
    close_and_wait(*c);
}

BOOST_AUTO_TEST_CASE(what_the_server_would_refuse_is_refused_before_writing_and_the_connection_stays)
{
    // nats-server closes the connection on a control line over 4096 bytes (and on a payload over
    // max_payload): every other caller's messages would go with it. The client refuses them itself.
    nats_server server({.max_payload = 1024});
    io_runner io;
    auto c = connected_client(io, client_options_for(server));
    libnats_peer peer(options_for(server));
    BOOST_TEST_REQUIRE(peer.connected(), peer.error());
    stream_reader reader(peer, "it.after");
    BOOST_TEST_REQUIRE(reader.status() == NATS_OK);
    BOOST_TEST_REQUIRE(peer.flush() == NATS_OK);

    const std::string long_subject = "it.long." + std::string(5000, 'x'); // a valid subject
    BOOST_TEST(c->publish(long_subject, "x") == nats::errc::control_line_exceeded);
    BOOST_TEST(c->publish("it.after", "x", "it.reply." + std::string(5000, 'r')) == nats::errc::control_line_exceeded);
    nats::headers h;
    h.add("X-Key", "v");
    BOOST_TEST(c->publish(long_subject, "x", {}, &h) == nats::errc::control_line_exceeded);
    nats::subscription_ptr sub;
    BOOST_TEST(c->subscribe(long_subject, {}, [](nats::message) {}, sub) == nats::errc::control_line_exceeded);
    auto [ec, reply] = io.wait(c->request(long_subject, "x", 2s));
    BOOST_TEST((ec == nats::errc::control_line_exceeded), ec.message());
    BOOST_TEST(c->publish("it.after", std::string(1025, 'p')) == nats::errc::max_payload_exceeded);
    nats::headers bad;
    bad.add("Bad Key", "v");
    BOOST_TEST(c->publish("it.after", "x", {}, &bad) == nats::errc::invalid_header_key);
    BOOST_TEST(c->publish("it.a b", "x") == nats::errc::invalid_subject);

    // Nothing reached the server: the connection is the same one, and it still carries messages.
    BOOST_TEST_REQUIRE(!io.wait(c->flush(5s)));
    BOOST_TEST(!c->publish("it.after", numbered_payload(0, 32)));
    BOOST_TEST_REQUIRE(!io.wait(c->flush(5s)));
    BOOST_TEST(reader.expect(0, 1, 32) == 0);
    BOOST_TEST(c->connected());
    BOOST_TEST(c->stats().reconnects == 0u);
    close_and_wait(*c);
}

BOOST_AUTO_TEST_SUITE_END()
