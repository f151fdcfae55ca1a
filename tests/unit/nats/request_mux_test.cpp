// The request multiplexer with a fake clock and plain ints standing for completion handlers:
// replies find their request by token, timeouts fire in deadline order, a 503 without payload is
// no_responders, and a disconnect fails everything still pending.

#include <beamline/nats/error.hpp>
#include <beamline/nats/sansio/request_mux.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace beamline::nats;
using namespace beamline::nats::sansio;
using namespace std::chrono_literals;
using mux = request_mux<int>;

namespace
{
const mux::clock::time_point t0{};
const std::string prefix = "_INBOX.abc.";

message_view reply_to(std::string_view subject, std::string_view payload = "ok", std::string_view hdrs = {})
{
    return message_view{subject, {}, hdrs, payload};
}

/// Registers request `p` as the engine does (a fresh token, then add) and returns its reply subject.
std::string add(mux& m, int p, mux::clock::time_point deadline)
{
    auto [token, reply] = m.next_reply_subject();
    std::string subject(reply);
    m.add(token, p, deadline);
    return subject;
}

std::vector<int> expire(mux& m, mux::clock::time_point now)
{
    std::vector<int> out;
    m.expire(now, [&](int&& p) { out.push_back(p); });
    return out;
}
} // namespace

BOOST_AUTO_TEST_SUITE(request_mux_transitions)

BOOST_AUTO_TEST_CASE(tokens_are_fresh_and_name_the_reply_subject)
{
    mux m(prefix);
    BOOST_TEST(m.inbox_subject() == "_INBOX.abc.*");
    auto [t1, r1] = m.next_reply_subject();
    BOOST_TEST(std::string(r1) == "_INBOX.abc.1");
    auto [t2, r2] = m.next_reply_subject();
    BOOST_TEST(t2 == t1 + 1);
    BOOST_TEST(std::string(r2) == "_INBOX.abc.2");
}

BOOST_AUTO_TEST_CASE(a_reply_completes_its_request_once)
{
    mux m(prefix);
    auto [t1, r1] = m.next_reply_subject();
    std::string subject(r1);
    m.add(t1, 7, t0 + 1s);
    auto got = m.on_reply(reply_to(subject));
    BOOST_TEST_REQUIRE(got.has_value());
    BOOST_TEST(got->first == 7);
    BOOST_TEST(!got->second);
    BOOST_TEST(!m.on_reply(reply_to(subject)).has_value()); // a duplicate reply finds nothing
    BOOST_TEST(m.empty());
    BOOST_TEST(!m.next_deadline().has_value()); // the answered request's deadline is gone
}

BOOST_AUTO_TEST_CASE(a_503_without_payload_is_no_responders_and_with_payload_a_reply)
{
    mux m(prefix);
    std::string s1 = add(m, 1, t0 + 1s);
    std::string s2 = add(m, 2, t0 + 1s);
    auto a = m.on_reply(reply_to(s1, "", "NATS/1.0 503\r\n\r\n"));
    BOOST_TEST_REQUIRE(a.has_value());
    BOOST_TEST(a->second == make_error_code(errc::no_responders));
    auto b = m.on_reply(reply_to(s2, "busy", "NATS/1.0 503\r\n\r\n"));
    BOOST_TEST_REQUIRE(b.has_value());
    BOOST_TEST(!b->second);
}

BOOST_AUTO_TEST_CASE(messages_that_are_not_replies_to_pending_requests_are_ignored)
{
    mux m(prefix);
    auto [t1, r1] = m.next_reply_subject();
    m.add(t1, 1, t0 + 1s);
    for (std::string s : {"_INBOX.abc.", "_INBOX.abc.x", "_INBOX.abc.1x", "_INBOX.abc.99", "_INBOX.other.1", "x"})
        BOOST_TEST(!m.on_reply(reply_to(s)).has_value(), s);
    BOOST_TEST(m.size() == 1u);
}

BOOST_AUTO_TEST_CASE(timeouts_fire_in_deadline_order_and_only_when_due)
{
    mux m(prefix);
    for (auto [p, after] : std::vector<std::pair<int, std::chrono::milliseconds>>{{1, 300ms}, {2, 100ms}, {3, 200ms}})
    {
        auto [t, r] = m.next_reply_subject();
        m.add(t, p, t0 + after);
    }
    BOOST_TEST((m.next_deadline() == t0 + 100ms));
    BOOST_TEST(expire(m, t0 + 99ms).empty());
    BOOST_TEST(expire(m, t0 + 200ms) == (std::vector<int>{2, 3}), boost::test_tools::per_element());
    BOOST_TEST((m.next_deadline() == t0 + 300ms));
    BOOST_TEST(expire(m, t0 + 1s) == (std::vector<int>{1}), boost::test_tools::per_element());
    BOOST_TEST(!m.next_deadline().has_value());
}

BOOST_AUTO_TEST_CASE(an_answered_request_never_times_out_and_a_timed_out_one_is_never_answered)
{
    mux m(prefix);
    std::string s1 = add(m, 1, t0 + 100ms);
    std::string s2 = add(m, 2, t0 + 200ms);
    BOOST_TEST(m.on_reply(reply_to(s1)).has_value());
    BOOST_TEST((m.next_deadline() == t0 + 200ms)); // the answered one's deadline is skipped
    BOOST_TEST(expire(m, t0 + 1s) == (std::vector<int>{2}), boost::test_tools::per_element());
    BOOST_TEST(!m.on_reply(reply_to(s2)).has_value()); // too late
}

BOOST_AUTO_TEST_CASE(a_disconnect_fails_everything_pending)
{
    mux m(prefix);
    for (int p = 1; p <= 3; ++p)
    {
        auto [t, r] = m.next_reply_subject();
        m.add(t, p, t0 + 1s);
    }
    std::vector<int> failed;
    m.fail_all([&](int&& p) { failed.push_back(p); });
    std::sort(failed.begin(), failed.end());
    BOOST_TEST(failed == (std::vector<int>{1, 2, 3}), boost::test_tools::per_element());
    BOOST_TEST(m.empty());
    BOOST_TEST(!m.next_deadline().has_value());
    BOOST_TEST(expire(m, t0 + 1h).empty());
}

BOOST_AUTO_TEST_CASE(many_answered_requests_do_not_pile_up_deadlines)
{
    mux m(prefix);
    for (int i = 0; i < 100000; ++i)
    {
        auto [t, r] = m.next_reply_subject();
        std::string s(r);
        m.add(t, i, t0 + 1h);
        BOOST_TEST_REQUIRE(m.on_reply(reply_to(s)).has_value());
        BOOST_TEST_REQUIRE(m.deadlines_held() <= 1024u + 2); // at most one pending at a time
    }
    // One more, still pending, with the earliest deadline of all: it is the one that expires.
    auto [t, r] = m.next_reply_subject();
    m.add(t, -1, t0 + 1s);
    BOOST_TEST(m.size() == 1u);
    BOOST_TEST(expire(m, t0 + 2h) == (std::vector<int>{-1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
