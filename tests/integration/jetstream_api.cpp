// The typed $JS.API caller and JetStream publish against a real nats-server with JetStream, with
// libnats's JetStream API as the independent peer.
#include "jetstream_harness.hpp"
#include "libnats_jetstream.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <set>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

using namespace beamline::test;
using namespace std::chrono_literals;
namespace nats = beamline::nats;

namespace
{

boost::asio::awaitable<int> publish_window(js::async_publisher* pub, int count, std::atomic<int>* duplicates,
                                           std::set<std::uint64_t>* seqs, std::mutex* mutex)
{
    for (int i = 0; i < count; ++i)
    {
        js::publish_options o;
        o.msg_id = "m-" + std::to_string(i % (count / 2)); // every id twice: half are duplicates
        co_await pub->publish("win.x", std::string(128, 'x'), o, [=](const js::api_result<js::pub_ack>& r) {
            if (r.ec) return;
            std::lock_guard lock(*mutex);
            if (r.value.duplicate) ++*duplicates;
            else seqs->insert(r.value.seq);
        });
    }
    bool all = co_await pub->wait_all(10s);
    co_return all ? 0 : 1;
}

} // namespace

BOOST_AUTO_TEST_SUITE(jetstream_api)

BOOST_FIXTURE_TEST_CASE(stream_lifecycle_and_errors, jetstream_setup)
{

    auto account = io.wait(c.js.get_account_info());
    BOOST_TEST_REQUIRE(!account.ec, account.error_text());
    BOOST_TEST(account.value.streams == 0u);

    auto missing = io.wait(c.js.get_stream_info("NOPE"));
    BOOST_TEST(missing.ec == js::js_errc::stream_not_found);
    BOOST_TEST(missing.error.err_code == 10059);
    BOOST_TEST(missing.error_text() == "stream not found (err_code 10059)");

    js::stream_config cfg;
    cfg.name = "ORDERS";
    cfg.subjects = {"orders.>"};
    cfg.storage = "memory";
    cfg.duplicate_window = 1min;
    auto created = io.wait(c.js.create_stream(cfg));
    BOOST_TEST_REQUIRE(!created.ec, created.error_text());
    BOOST_TEST(created.value.config.name == "ORDERS");
    BOOST_TEST(created.value.config.duplicate_window.count() == 60000);

    // A second stream on overlapping subjects is refused with the server's code.
    js::stream_config overlap = cfg;
    overlap.name = "OTHER";
    auto refused = io.wait(c.js.create_stream(overlap));
    BOOST_TEST(refused.ec == js::js_errc::subjects_overlap);

    cfg.subjects = {"orders.>", "returns.>"};
    auto updated = io.wait(c.js.update_stream(cfg));
    BOOST_TEST_REQUIRE(!updated.ec, updated.error_text());
    BOOST_TEST(updated.value.config.subjects.size() == 2u);

    BOOST_TEST(io.wait(c.js.create_stream(overlap)).ec == js::js_errc::subjects_overlap);
    overlap.subjects = {"other.>"};
    BOOST_TEST_REQUIRE(!io.wait(c.js.create_stream(overlap)).ec);

    auto names = io.wait(c.js.stream_names());
    BOOST_TEST_REQUIRE(!names.ec);
    std::sort(names.value.begin(), names.value.end());
    BOOST_TEST((names.value == std::vector<std::string>{"ORDERS", "OTHER"}));
    auto by_subject = io.wait(c.js.stream_names("returns.x"));
    BOOST_TEST((by_subject.value == std::vector<std::string>{"ORDERS"}));
    auto list = io.wait(c.js.list_streams());
    BOOST_TEST_REQUIRE(!list.ec);
    BOOST_TEST(list.value.size() == 2u);

    for (int i = 0; i < 3; ++i)
        BOOST_TEST_REQUIRE(!io.wait(c.js.publish("orders.new", "o" + std::to_string(i))).ec);
    auto info = io.wait(c.js.get_stream_info("ORDERS"));
    BOOST_TEST(info.value.state.messages == 3u);
    BOOST_TEST(info.value.state.last_seq == 3u);

    // Named queries, not braced temporaries: see js::failure_of.
    js::message_query second, missing_seq, last_on_subject;
    second.seq = 2;
    missing_seq.seq = 99;
    last_on_subject.last_by_subject = "orders.new";
    auto got = io.wait(c.js.get_message("ORDERS", second));
    BOOST_TEST_REQUIRE(!got.ec, got.error_text());
    BOOST_TEST(got.value.data == "o1");
    BOOST_TEST(got.value.subject == "orders.new");
    BOOST_TEST(io.wait(c.js.get_message("ORDERS", missing_seq)).ec == js::js_errc::no_message_found);
    auto last = io.wait(c.js.get_message("ORDERS", last_on_subject));
    BOOST_TEST(last.value.seq == 3u);

    auto purged = io.wait(c.js.purge_stream("ORDERS"));
    BOOST_TEST_REQUIRE(!purged.ec, purged.error_text());
    BOOST_TEST(purged.value == 3u);
    BOOST_TEST(io.wait(c.js.get_stream_info("ORDERS")).value.state.messages == 0u);

    BOOST_TEST_REQUIRE(!io.wait(c.js.delete_stream("OTHER")).ec);
    BOOST_TEST(io.wait(c.js.delete_stream("OTHER")).ec == js::js_errc::stream_not_found);
    BOOST_TEST(io.wait(c.js.get_stream_info("bad.name")).ec == js::js_errc::invalid_name);
}

BOOST_FIXTURE_TEST_CASE(consumer_lifecycle, jetstream_setup)
{
    make_stream(io, c.js, "S", {"s.>"});

    BOOST_TEST(io.wait(c.js.get_consumer_info("S", "nope")).ec == js::js_errc::consumer_not_found);
    js::consumer_config cc;
    cc.durable_name = "worker";
    cc.ack_wait = 30s;
    cc.max_deliver = 5;
    cc.backoff = {1s, 5s};
    cc.max_ack_pending = 1000;
    auto created = io.wait(c.js.create_consumer("S", cc));
    BOOST_TEST_REQUIRE(!created.ec, created.error_text());
    BOOST_TEST(created.value.name == "worker");
    BOOST_TEST(created.value.config.max_deliver == 5);
    BOOST_TEST(created.value.config.backoff.size() == 2u);
    // max_deliver must exceed the backoff list (10116).
    js::consumer_config bad = cc;
    bad.durable_name = "bad";
    bad.max_deliver = 2;
    bad.backoff = {1s, 2s, 3s};
    auto refused = io.wait(c.js.create_consumer("S", bad));
    BOOST_TEST(refused.ec.value() == 10116);
    BOOST_TEST(refused.error_text().find("(err_code 10116)") != std::string::npos);

    auto names = io.wait(c.js.consumer_names("S"));
    BOOST_TEST((names.value == std::vector<std::string>{"worker"}));
    // With a backoff list the server takes its first step as the ack wait.
    BOOST_TEST(io.wait(c.js.get_consumer_info("S", "worker")).value.config.ack_wait.count() == 1000);
    BOOST_TEST_REQUIRE(!io.wait(c.js.delete_consumer("S", "worker")).ec);
    BOOST_TEST(io.wait(c.js.consumer_names("S")).value.empty());
    BOOST_TEST(io.wait(c.js.consumer_names("NOPE")).ec == js::js_errc::stream_not_found);
}

BOOST_FIXTURE_TEST_CASE(publish_dedup_and_expectations, jetstream_setup)
{
    make_stream(io, c.js, "T", {"t.>"});

    js::publish_options once;
    once.msg_id = "1";
    auto first = io.wait(c.js.publish("t.x", "hi", once));
    BOOST_TEST_REQUIRE(!first.ec, first.error_text());
    BOOST_TEST(first.value.stream == "T");
    BOOST_TEST(first.value.seq == 1u);
    BOOST_TEST(!first.value.duplicate);
    auto again = io.wait(c.js.publish("t.x", "hi", once));
    BOOST_TEST_REQUIRE(!again.ec);
    BOOST_TEST(again.value.duplicate);
    BOOST_TEST(again.value.seq == 1u);

    js::publish_options seq;
    seq.expected_last_sequence = 5;
    BOOST_TEST(io.wait(c.js.publish("t.x", "x", seq)).ec == js::js_errc::wrong_last_sequence);
    seq.expected_last_sequence = 1;
    BOOST_TEST(!io.wait(c.js.publish("t.x", "x", seq)).ec);

    js::publish_options subj;
    subj.expected_last_subject_sequence = 0;
    BOOST_TEST(!io.wait(c.js.publish("t.fresh", "x", subj)).ec);
    BOOST_TEST(io.wait(c.js.publish("t.fresh", "x", subj)).ec == js::js_errc::wrong_last_sequence);

    js::publish_options stream;
    stream.expected_stream = "OTHER";
    BOOST_TEST(io.wait(c.js.publish("t.x", "x", stream)).ec == js::js_errc::stream_wrong_expected);

    js::publish_options msgid;
    msgid.expected_last_msg_id = "nope";
    BOOST_TEST(io.wait(c.js.publish("t.x", "x", msgid)).ec == js::js_errc::wrong_last_msg_id);

    // libnats sees our messages and its duplicates the same way.
    libnats_peer peer(options_for(server));
    libnats_jetstream ljs(peer);
    auto theirs = ljs.publish("t.x", "hi", "1");
    BOOST_TEST_REQUIRE(theirs.has_value());
    BOOST_TEST(theirs->duplicate);
    BOOST_TEST(theirs->seq == 1u);
}

BOOST_AUTO_TEST_CASE(no_stream_is_no_responders_after_the_retries)
{
    nats_server server(jetstream_server_options());
    io_runner io;
    js::jetstream_options o;
    o.publish_retries = 2;
    o.publish_retry_wait = 50ms;
    jetstream_client c(io, server, o);
    auto before = c.core->stats().out_msgs;
    auto r = io.wait(c.js.publish("nobody.here", "x"));
    BOOST_TEST(r.ec == js::js_errc::no_stream_response);
    // One first try and two retries.
    BOOST_TEST(c.core->stats().out_msgs - before == 3u);
}

BOOST_AUTO_TEST_CASE(api_without_jetstream_is_not_enabled)
{
    nats_server server; // no JetStream
    io_runner io;
    jetstream_client c(io, server);
    auto r = io.wait(c.js.get_account_info());
    BOOST_TEST(r.ec == js::js_errc::not_enabled);
}

BOOST_FIXTURE_TEST_CASE(async_publish_keeps_a_bounded_window, jetstream_setup)
{
    js::stream_config cfg;
    cfg.name = "WIN";
    cfg.subjects = {"win.>"};
    cfg.storage = "memory";
    BOOST_TEST_REQUIRE(!io.wait(c.js.create_stream(cfg)).ec);

    js::async_publisher pub(c.js, 64);
    std::atomic<int> duplicates{0};
    std::set<std::uint64_t> seqs;
    std::mutex mutex;
    BOOST_TEST(io.wait(publish_window(&pub, 2000, &duplicates, &seqs, &mutex), 60s) == 0);
    BOOST_TEST(pub.acked() == 2000u);
    BOOST_TEST(pub.failed() == 0u);
    BOOST_TEST(pub.in_flight() == 0u);
    BOOST_TEST(duplicates.load() == 1000);
    BOOST_TEST(seqs.size() == 1000u);
    BOOST_TEST(io.wait(c.js.get_stream_info("WIN")).value.state.messages == 1000u);
}

BOOST_AUTO_TEST_CASE(domain_prefix_changes_the_api_subject)
{
    nats_server server(jetstream_server_options());
    io_runner io;
    js::jetstream_options o;
    o.domain = "hub";
    o.timeout = 500ms;
    jetstream_client c(io, server, o);
    BOOST_TEST(c.js.api_subject("INFO") == "$JS.hub.API.INFO");
    // No server answers for domain "hub" here: the API is not there.
    BOOST_TEST(io.wait(c.js.get_account_info()).ec == js::js_errc::not_enabled);
    js::jetstream_options p;
    p.api_prefix = "$JS.API.";
    jetstream_client plain(io, server, p);
    BOOST_TEST(!io.wait(plain.js.get_account_info()).ec);
}

BOOST_AUTO_TEST_SUITE_END()
