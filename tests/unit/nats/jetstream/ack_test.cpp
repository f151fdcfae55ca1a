#include <beamline/nats/jetstream/ack.hpp>
#include <beamline/nats/jetstream/error.hpp>
#include <boost/test/unit_test.hpp>

using namespace beamline::nats::jetstream;

BOOST_AUTO_TEST_SUITE(jetstream_ack)

BOOST_AUTO_TEST_CASE(v1_subject_has_nine_tokens)
{
    ack_metadata m;
    BOOST_TEST_REQUIRE(!parse_ack_metadata("$JS.ACK.ORDERS.worker.3.1042.17.1700000000123456789.5", m));
    BOOST_TEST(m.stream == "ORDERS");
    BOOST_TEST(m.consumer == "worker");
    BOOST_TEST(m.delivered == 3u);
    BOOST_TEST(m.stream_seq == 1042u);
    BOOST_TEST(m.consumer_seq == 17u);
    BOOST_TEST(m.timestamp_ns == 1700000000123456789ull);
    BOOST_TEST(m.pending == 5u);
    BOOST_TEST(m.domain.empty());
    BOOST_TEST(m.account_hash.empty());
}

BOOST_AUTO_TEST_CASE(v2_subject_has_domain_and_account_hash)
{
    ack_metadata m;
    BOOST_TEST_REQUIRE(!parse_ack_metadata("$JS.ACK.hub.ACCHASH.ORDERS.worker.1.9.8.1700000000000000000.0", m));
    BOOST_TEST(m.domain == "hub");
    BOOST_TEST(m.account_hash == "ACCHASH");
    BOOST_TEST(m.stream == "ORDERS");
    BOOST_TEST(m.consumer == "worker");
    BOOST_TEST(m.delivered == 1u);
    BOOST_TEST(m.stream_seq == 9u);
    BOOST_TEST(m.consumer_seq == 8u);
    BOOST_TEST(m.pending == 0u);
}

BOOST_AUTO_TEST_CASE(v2_underscore_means_no_domain_and_extra_tokens_are_ignored)
{
    ack_metadata m;
    BOOST_TEST_REQUIRE(!parse_ack_metadata("$JS.ACK._.H.S.C.2.3.4.5.6.random", m));
    BOOST_TEST(m.domain.empty());
    BOOST_TEST(m.stream == "S");
    BOOST_TEST(m.delivered == 2u);
    BOOST_TEST(m.pending == 6u);
}

BOOST_AUTO_TEST_CASE(malformed_subjects_are_rejected)
{
    const char* bad[] = {
        "",
        "$JS.ACK",
        "$JS.ACK.",
        "$JS.ACK.S.C.1.2.3.4",           // 8 tokens
        "$JS.ACK.S.C.1.2.3.4.5.6",       // 10 tokens
        "$JS.ACKX.S.C.1.2.3.4.5",        // wrong prefix
        "$js.ack.S.C.1.2.3.4.5",         // prefix is case-sensitive
        "_INBOX.S.C.1.2.3.4.5.6.7",      // not an ack subject at all
        "$JS.ACK.S.C.x.2.3.4.5",         // non-numeric delivered
        "$JS.ACK.S.C.1.-2.3.4.5",        // sign
        "$JS.ACK.S.C.1.2.3.4.+5",
        "$JS.ACK.S..1.2.3.4.5",          // empty token
        "$JS.ACK.S.C.1.2.3.4.5.",        // trailing dot
        "$JS.ACK.S.C.1.2.3.4.99999999999999999999999", // overflows 64 bits
        "$JS.ACK.D.H.S.C.1.2.3.4.x",     // v2 with a bad number
        "$JS.ACK.S C.C.1.2.3.4.5",       // whitespace
    };
    for (const char* s : bad)
    {
        ack_metadata m;
        m.stream = "untouched";
        BOOST_TEST_CONTEXT(s)
        {
            BOOST_TEST(parse_ack_metadata(s, m) == js_errc::invalid_ack_subject);
            BOOST_TEST(m.stream == "untouched");
        }
    }
}

BOOST_AUTO_TEST_CASE(ack_bodies)
{
    BOOST_TEST(ack_body(ack_kind::ack) == "+ACK");
    BOOST_TEST(ack_body(ack_kind::nak) == "-NAK");
    BOOST_TEST(ack_body(ack_kind::nak, std::chrono::seconds(2)) == "-NAK {\"delay\":2000000000}");
    BOOST_TEST(ack_body(ack_kind::in_progress) == "+WPI");
    BOOST_TEST(ack_body(ack_kind::term) == "+TERM");
    BOOST_TEST(is_terminal(ack_kind::ack));
    BOOST_TEST(is_terminal(ack_kind::nak));
    BOOST_TEST(is_terminal(ack_kind::term));
    BOOST_TEST(!is_terminal(ack_kind::in_progress));
}

BOOST_AUTO_TEST_SUITE_END()
