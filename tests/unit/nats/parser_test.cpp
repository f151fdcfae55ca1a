#include "alloc_counter.hpp"
#include "parser_feed.hpp"

#include <beamline/nats/error.hpp>
#include <beamline/nats/protocol/parser.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace beamline::nats;
using namespace beamline::nats::test;
using protocol::max_control_line;

namespace
{

struct valid_vector
{
    std::string name;
    std::string input;
    std::vector<std::string> frames;
};

std::string big_payload()
{
    std::string p;
    for (std::size_t i = 0; p.size() < 70 * 1024; ++i)
        p += static_cast<char>('a' + i % 26);
    p += "\r\nend";
    return p;
}

std::vector<valid_vector> valid_vectors()
{
    const std::string big = big_payload();
    const std::string long_ping = "PING" + std::string(max_control_line - 4, ' ') + "\r\n";
    return {
        {"info",
         "INFO {\"server_id\":\"x\",\"headers\":true}\r\n",
         {"INFO {\"server_id\":\"x\",\"headers\":true}"}},
        {"msg",
         "MSG foo.bar 9 5\r\nhello\r\n",
         {"MSG subject=foo.bar reply= sid=9 headers=[] payload=[hello]"}},
        {"msg with reply",
         "MSG foo 1 _INBOX.a.b 3\r\nabc\r\n",
         {"MSG subject=foo reply=_INBOX.a.b sid=1 headers=[] payload=[abc]"}},
        {"hmsg",
         "HMSG FOO 22 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n",
         {"HMSG subject=FOO reply= sid=22 headers=[NATS/1.0\r\nBar: Baz\r\n\r\n] payload=[Hello NATS!]"}},
        {"hmsg with reply",
         "HMSG FOO 3 rep.ly 12 12\r\nNATS/1.0\r\n\r\n\r\n",
         {"HMSG subject=FOO reply=rep.ly sid=3 headers=[NATS/1.0\r\n\r\n] payload=[]"}},
        {"ping", "PING\r\n", {"PING"}},
        {"pong", "PONG\r\n", {"PONG"}},
        {"ping with trailing junk", "PING junk\r\n", {"PING"}},
        {"ok", "+OK\r\n", {"+OK"}},
        {"err quoted", "-ERR 'Unknown Protocol Operation'\r\n", {"-ERR [Unknown Protocol Operation]"}},
        {"err unquoted", "-ERR  Stale Connection \r\n", {"-ERR [Stale Connection]"}},
        {"lower-case ops",
         "ping\r\npong\r\n+ok\r\nmsg a 1 1\r\nx\r\nhmsg a 2 12 12\r\nNATS/1.0\r\n\r\n\r\ninfo {}\r\n",
         {"PING", "PONG", "+OK", "MSG subject=a reply= sid=1 headers=[] payload=[x]",
          "HMSG subject=a reply= sid=2 headers=[NATS/1.0\r\n\r\n] payload=[]", "INFO {}"}},
        {"spaces and tabs between args",
         "MSG  doo  8  daa   9  \r\n123456789\r\n",
         {"MSG subject=doo reply=daa sid=8 headers=[] payload=[123456789]"}},
        {"tabs", "MSG\tfoo\t\t1\t 2\r\nok\r\n", {"MSG subject=foo reply= sid=1 headers=[] payload=[ok]"}},
        {"payload containing CRLF",
         "MSG foo 1 7\r\na\r\nb\r\nc\r\n",
         {"MSG subject=foo reply= sid=1 headers=[] payload=[a\r\nb\r\nc]"}},
        {"zero-length payload",
         "MSG foo 1 0\r\n\r\n",
         {"MSG subject=foo reply= sid=1 headers=[] payload=[]"}},
        {"payload larger than 64 KiB",
         "MSG big 4 " + std::to_string(big.size()) + "\r\n" + big + "\r\n",
         {"MSG subject=big reply= sid=4 headers=[] payload=[" + big + "]"}},
        {"control line of exactly 4096 bytes", long_ping, {"PING"}},
        {"control line of 4096 bytes ending in a bare LF",
         long_ping.substr(0, max_control_line) + "\n",
         {"PING"}},
        {"bare LF line ends",
         "PING\nMSG a 1 1\nx\r\n",
         {"PING", "MSG subject=a reply= sid=1 headers=[] payload=[x]"}},
        {"back to back",
         "PING\r\nMSG a 1 2\r\nhi\r\n+OK\r\nPONG\r\n-ERR 'x'\r\n",
         {"PING", "MSG subject=a reply= sid=1 headers=[] payload=[hi]", "+OK", "PONG", "-ERR [x]"}},
    };
}

struct malformed_vector
{
    std::string name;
    std::string input;
    errc expected;
    std::size_t error_at; ///< the fewest bytes after which the parser must have rejected the input
    std::size_t frames_before = 0;
};

std::vector<malformed_vector> malformed_vectors()
{
    const std::string line_4097 = "PING" + std::string(max_control_line - 3, ' ') + "\r\n";
    return {
        {"unknown op", "FOO bar\r\n", errc::protocol_error, 1},
        {"unknown op after a frame", "PING\r\nXPING\r\n", errc::protocol_error, 7, 1},
        {"unknown op with a known first letter", "PUNG\r\n", errc::protocol_error, 6},
        {"empty line", "\r\n", errc::protocol_error, 1},
        {"msg too few args", "MSG foo 1\r\n", errc::invalid_arguments, 11},
        {"msg too many args", "MSG foo 1 bar baz 5\r\n", errc::invalid_arguments, 21},
        {"msg non-numeric sid", "MSG foo bar 5\r\nhello\r\n", errc::invalid_arguments, 15},
        {"msg non-numeric size", "MSG foo 1 5x\r\nhello\r\n", errc::invalid_arguments, 14},
        {"msg negative size", "MSG foo 1 -5\r\n", errc::invalid_arguments, 14},
        {"msg size of 20 digits", "MSG foo 1 18446744073709551615\r\n", errc::invalid_arguments, 32},
        {"msg larger than any server allows", "MSG foo 1 9999999999999999999\r\n", errc::invalid_arguments,
         31},
        {"msg one byte over the limit", "MSG foo 1 67108865\r\n", errc::invalid_arguments, 20},
        {"hmsg larger than any server allows", "HMSG foo 1 12 9999999999999999999\r\n",
         errc::invalid_arguments, 35},
        {"hmsg too few args", "HMSG foo 1 5\r\n", errc::invalid_arguments, 14},
        {"hmsg too many args", "HMSG foo 1 a b 5 5\r\n", errc::invalid_arguments, 20},
        {"hmsg non-numeric header size", "HMSG foo 1 x 5\r\n", errc::invalid_arguments, 16},
        {"hmsg header larger than total", "HMSG foo 1 10 5\r\n", errc::invalid_arguments, 17},
        {"missing CRLF after payload", "MSG foo 1 5\r\nhelloXY", errc::protocol_error, 20},
        {"payload longer than announced", "MSG foo 1 3\r\nhello\r\n", errc::protocol_error, 18},
        {"control line over 4096 without newline", "MSG " + std::string(5000, 'a'),
         errc::control_line_too_long, max_control_line + 2},
        {"control line of 4097 bytes", line_4097, errc::control_line_too_long, max_control_line + 2},
        {"control line of 4097 bytes ending in a bare LF", line_4097.substr(0, max_control_line + 1) + "\n",
         errc::control_line_too_long, max_control_line + 2},
        {"info without json", "INFO\r\n", errc::invalid_info, 6},
        {"info with only spaces", "INFO   \r\n", errc::invalid_info, 9},
    };
}

/// The offset at which a feed cut at `cuts` first holds `n` bytes.
std::size_t first_boundary_at_least(std::size_t n, const std::vector<std::size_t>& cuts, std::size_t total)
{
    for (std::size_t c : cuts)
        if (c >= n) return c;
    return total;
}

} // namespace

BOOST_AUTO_TEST_SUITE(nats_parser)

BOOST_AUTO_TEST_CASE(valid_vectors_in_one_piece)
{
    for (const auto& v : valid_vectors())
    {
        BOOST_TEST_CONTEXT(v.name)
        {
            auto r = feed(v.input, {});
            BOOST_TEST(r.contract_violation == "");
            BOOST_TEST(!r.ec, r.ec.message());
            BOOST_TEST(r.frames == v.frames, boost::test_tools::per_element());
            BOOST_TEST(r.unread == 0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(valid_vectors_split_at_every_point_and_bytewise)
{
    for (const auto& v : valid_vectors())
    {
        BOOST_TEST_CONTEXT(v.name)
        {
            // One report per vector: the 64 KiB one has as many split points as bytes.
            for (std::size_t cut = 1; cut < v.input.size(); ++cut)
            {
                auto r = feed(v.input, {cut});
                if (r.ec || r.frames != v.frames || r.unread != 0 || !r.contract_violation.empty())
                {
                    BOOST_ERROR("split at " << cut << " gives " << r.frames.size() << " frames, error '"
                                            << r.ec.message() << "', " << r.contract_violation);
                    break;
                }
            }
            auto r = feed_bytewise(v.input);
            BOOST_TEST(r.contract_violation == "");
            BOOST_TEST(!r.ec, r.ec.message());
            BOOST_TEST((r.frames == v.frames));
            BOOST_TEST(r.unread == 0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(all_valid_vectors_as_one_stream)
{
    std::string stream;
    std::vector<std::string> frames;
    for (const auto& v : valid_vectors())
    {
        stream += v.input;
        frames.insert(frames.end(), v.frames.begin(), v.frames.end());
    }
    auto bytewise = feed_bytewise(stream);
    BOOST_TEST(bytewise.contract_violation == "");
    BOOST_TEST(!bytewise.ec, bytewise.ec.message());
    BOOST_TEST((bytewise.frames == frames));
    // Fixed-size reads, as a socket would deliver them, from tiny to larger than the biggest frame.
    for (std::size_t chunk : {2u, 3u, 7u, 4095u, 4097u, 65536u, 100000u})
    {
        std::vector<std::size_t> cuts;
        for (std::size_t at = chunk; at < stream.size(); at += chunk)
            cuts.push_back(at);
        auto r = feed(stream, cuts);
        BOOST_TEST(r.contract_violation == "", "chunks of " << chunk);
        BOOST_TEST(!r.ec, "chunks of " << chunk << ": " << r.ec.message());
        BOOST_TEST((r.frames == frames), "chunks of " << chunk);
        BOOST_TEST(r.unread == 0u);
    }
}

BOOST_AUTO_TEST_CASE(truncated_input_consumes_nothing)
{
    // Every proper prefix of a single frame is incomplete, and the parser keeps no state between calls.
    const std::string msg = "HMSG FOO 22 reply 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n";
    for (std::size_t n = 0; n < msg.size(); ++n)
    {
        protocol::frame f;
        auto r = protocol::parse_frame(std::string_view(msg).substr(0, n), f);
        BOOST_TEST_REQUIRE((r.status == protocol::parse_status::need_more), "prefix of " << n);
        BOOST_TEST(r.consumed == 0u);
    }
}

BOOST_AUTO_TEST_CASE(need_more_reports_the_size_of_a_large_message)
{
    const std::string head = "MSG big 1 100000\r\n";
    protocol::frame f;
    auto r = protocol::parse_frame(head + "partial", f);
    BOOST_TEST((r.status == protocol::parse_status::need_more));
    BOOST_TEST(r.needed == head.size() + 100000 + 2);
}

BOOST_AUTO_TEST_CASE(a_message_of_the_largest_size_is_awaited)
{
    const std::string head = "MSG big 1 " + std::to_string(protocol::max_message_size) + "\r\n";
    protocol::frame f;
    auto r = protocol::parse_frame(head, f);
    BOOST_TEST((r.status == protocol::parse_status::need_more));
    BOOST_TEST(r.needed == head.size() + protocol::max_message_size + 2);
}

BOOST_AUTO_TEST_CASE(parsing_allocates_nothing)
{
    const std::string input = "HMSG FOO 22 reply 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n";
    protocol::frame f;
    protocol::parse_result r;
    auto n = allocations_during([&] { r = protocol::parse_frame(input, f); });
    BOOST_TEST((r.status == protocol::parse_status::complete));
    BOOST_TEST(n == 0u);
}

BOOST_AUTO_TEST_CASE(malformed_vectors_are_rejected_in_one_piece)
{
    for (const auto& v : malformed_vectors())
    {
        BOOST_TEST_CONTEXT(v.name)
        {
            auto r = feed(v.input, {});
            BOOST_TEST(r.contract_violation == "");
            BOOST_TEST(r.ec == make_error_code(v.expected), r.ec.message());
            BOOST_TEST(r.frames.size() == v.frames_before);
        }
    }
}

BOOST_AUTO_TEST_CASE(malformed_vectors_are_rejected_at_the_right_byte)
{
    for (const auto& v : malformed_vectors())
    {
        BOOST_TEST_CONTEXT(v.name)
        {
            auto r = feed_bytewise(v.input);
            BOOST_TEST(r.ec == make_error_code(v.expected), r.ec.message());
            BOOST_TEST(r.error_after == v.error_at);
            BOOST_TEST(r.frames.size() == v.frames_before);

            for (std::size_t cut = 1; cut < v.input.size(); ++cut)
            {
                auto s = feed(v.input, {cut});
                std::size_t expected_at = first_boundary_at_least(v.error_at, {cut}, v.input.size());
                if (s.ec != make_error_code(v.expected) || s.error_after != expected_at ||
                    s.frames.size() != v.frames_before)
                {
                    BOOST_ERROR("split at " << cut << ": error '" << s.ec.message() << "' after "
                                            << s.error_after << " bytes, expected after " << expected_at);
                    break;
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(errors_name_their_cause)
{
    BOOST_TEST(make_error_code(errc::control_line_too_long).message().find("4096") != std::string::npos);
    BOOST_TEST(make_error_code(errc::invalid_arguments).message().find("argument") != std::string::npos);
    BOOST_TEST(make_error_code(errc::invalid_info).message().find("INFO") != std::string::npos);
    BOOST_TEST(std::string(make_error_code(errc::protocol_error).category().name()) == "nats.client");
}

BOOST_AUTO_TEST_SUITE_END()
