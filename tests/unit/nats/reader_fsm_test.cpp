// The steady-state reader driven without a socket: a scripted "server" provides bytes in chunks
// (every split point of a stream), the test performs each action the machine asks for, and a read
// error is injected at every read.

#include <beamline/nats/error.hpp>
#include <beamline/nats/sansio/reader_fsm.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

using namespace beamline::nats;
using namespace beamline::nats::sansio;
using kind = reader_action::kind;

namespace
{

/// Performs the reader's actions against `chunks` (one per read; a read after the last fails with
/// `end`), recording each action as a word. Stops at `fail`.
struct script
{
    script() = default;
    explicit script(std::vector<std::string> c) : chunks(std::move(c)) {}

    std::vector<std::string> chunks;
    std::error_code end = std::make_error_code(std::errc::connection_reset);
    std::vector<std::string> log;
    std::string error_text;
    std::error_code failed_with;

    void run()
    {
        read_buffer rb(64);
        reader_fsm r;
        std::size_t next_chunk = 0;
        auto act = r.next(rb);
        for (int guard = 0; guard < 100000; ++guard)
        {
            switch (act.what)
            {
            case kind::read:
            {
                if (next_chunk == chunks.size())
                {
                    act = r.on_read(end, 0, rb);
                    continue;
                }
                // A chunk larger than the space offered arrives over several reads.
                std::string& c = chunks[next_chunk];
                auto space = rb.prepare(act.needed);
                std::size_t n = std::min(space.size(), c.size());
                std::memcpy(space.data(), c.data(), n);
                c.erase(0, n);
                if (c.empty()) ++next_chunk;
                act = r.on_read({}, n, rb);
                continue;
            }
            case kind::deliver:
                log.push_back("msg " + std::string(r.frame().subject) + " " + std::to_string(r.frame().sid) + " " +
                              std::string(r.frame().payload) + (r.frame().headers.empty() ? "" : " +h"));
                break;
            case kind::send_pong: log.push_back("pong!"); break;
            case kind::pong: log.push_back("pong"); break;
            case kind::info: log.push_back("info " + std::to_string(r.info().max_payload)); break;
            case kind::report_error: log.push_back("report " + std::string(act.text)); break;
            case kind::fail:
                failed_with = act.ec;
                error_text = r.error_text();
                return;
            }
            act = r.next(rb);
        }
        BOOST_FAIL("the reader never stopped");
    }
};

const std::string stream = "MSG a.b 1 5\r\nhello\r\nPING\r\n+OK\r\nPONG\r\n"
                           "HMSG c 2 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
                           "INFO {\"max_payload\":2048}\r\n"
                           "-ERR 'Permissions Violation for Publish to \"x\"'\r\n"
                           "MSG d 3 0\r\n\r\n";
const std::vector<std::string> expected_log = {
    "msg a.b 1 hello", "pong!", "pong", "msg c 2 hi +h", "info 2048",
    "report Permissions Violation for Publish to \"x\"", "msg d 3 "};

} // namespace

BOOST_AUTO_TEST_SUITE(reader_fsm_transitions)

BOOST_AUTO_TEST_CASE(every_frame_kind_in_one_read)
{
    script s({stream});
    s.run();
    BOOST_TEST(s.log == expected_log, boost::test_tools::per_element());
    BOOST_TEST(s.failed_with == std::make_error_code(std::errc::connection_reset));
    BOOST_TEST(s.error_text.empty()); // a read error: the engine words it
}

BOOST_AUTO_TEST_CASE(the_same_stream_split_at_every_point_gives_the_same_actions)
{
    for (std::size_t cut = 1; cut < stream.size(); ++cut)
    {
        script s({stream.substr(0, cut), stream.substr(cut)});
        s.run();
        BOOST_TEST(s.log == expected_log, "split at " << cut);
    }
}

BOOST_AUTO_TEST_CASE(a_read_error_at_every_read_ends_the_reader_with_it)
{
    // One byte per read; the stream ends (error) after `n` reads, for every n.
    for (std::size_t n = 0; n <= stream.size(); ++n)
    {
        script s;
        for (std::size_t i = 0; i < n; ++i)
            s.chunks.push_back(stream.substr(i, 1));
        s.end = std::make_error_code(std::errc::broken_pipe);
        s.run();
        BOOST_TEST(s.failed_with == std::make_error_code(std::errc::broken_pipe), "after " << n << " bytes");
        BOOST_TEST(s.log.size() <= expected_log.size());
    }
}

BOOST_AUTO_TEST_CASE(a_fatal_server_error_fails_with_its_class_and_text)
{
    script s({"PING\r\n-ERR 'Stale Connection'\r\nMSG a 1 1\r\nx\r\n"});
    s.run();
    BOOST_TEST(s.log == (std::vector<std::string>{"pong!"}), boost::test_tools::per_element());
    BOOST_TEST(s.failed_with == make_error_code(server_errc::stale_connection));
    BOOST_TEST(s.error_text == "server error: 'Stale Connection'");
}

BOOST_AUTO_TEST_CASE(bytes_that_break_the_protocol_fail_with_words)
{
    script s({"MSG a 1 1\r\nx\r\nBOGUS\r\n"});
    s.run();
    BOOST_TEST(s.log.size() == 1u);
    BOOST_TEST(s.failed_with == make_error_code(errc::protocol_error));
    BOOST_TEST(s.error_text.find("protocol error from server") == 0u);
}

BOOST_AUTO_TEST_CASE(an_unreadable_info_is_skipped_and_many_oks_do_not_recurse)
{
    std::string oks;
    for (int i = 0; i < 20000; ++i)
        oks += "+OK\r\n";
    script s({"INFO {\"max_payload\":\"big\"}\r\n" + oks + "PONG\r\n"});
    s.run();
    BOOST_TEST(s.log == (std::vector<std::string>{"pong"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_large_message_asks_for_the_bytes_it_needs)
{
    std::string body(100000, 'z');
    std::string frame = "MSG big 9 100000\r\n" + body + "\r\n";
    read_buffer rb(64);
    reader_fsm r;
    auto act = r.next(rb);
    BOOST_TEST((act.what == kind::read));
    auto space = rb.prepare(act.needed);
    std::memcpy(space.data(), frame.data(), 30);
    act = r.on_read({}, 30, rb);
    BOOST_TEST_REQUIRE((act.what == kind::read));
    BOOST_TEST(act.needed >= frame.size()); // the parser's hint: room for the whole message
    space = rb.prepare(act.needed);
    BOOST_TEST_REQUIRE(space.size() >= frame.size() - 30);
    std::memcpy(space.data(), frame.data() + 30, frame.size() - 30);
    act = r.on_read({}, frame.size() - 30, rb);
    BOOST_TEST_REQUIRE((act.what == kind::deliver));
    BOOST_TEST(r.frame().payload.size() == body.size());
}

BOOST_AUTO_TEST_CASE(delivery_gate_queues_within_limits_and_reports_a_slow_consumer_once_per_episode)
{
    delivery_gate g{2, 100, false};
    BOOST_TEST((g.admit(0, 0, 10) == admission::queue));
    BOOST_TEST((g.admit(2, 20, 10) == admission::drop_and_report)); // message limit
    BOOST_TEST((g.admit(2, 20, 10) == admission::drop));            // same episode: not again
    BOOST_TEST((g.admit(1, 95, 10) == admission::drop));            // byte limit
    BOOST_TEST((g.admit(1, 20, 10) == admission::queue));           // drained: the episode ends
    BOOST_TEST((g.admit(1, 95, 10) == admission::drop_and_report)); // a new one is reported
    BOOST_TEST((g.admit(0, 90, 10) == admission::queue));           // exactly at the byte limit
}

BOOST_AUTO_TEST_CASE(max_msgs_ends_routing_at_the_last_message)
{
    BOOST_TEST(!reached_max_msgs(5, 0));
    BOOST_TEST(!reached_max_msgs(2, 3));
    BOOST_TEST(reached_max_msgs(3, 3));
    BOOST_TEST(reached_max_msgs(4, 3));
}

BOOST_AUTO_TEST_SUITE_END()
