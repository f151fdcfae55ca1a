// The load generator's reply classification against replies made by the router's own encoder, so
// a change of the ErrorResponse's shape breaks this test rather than silently miscounting a run.
#include "reply_kind.hpp"

#include "beamline/router/decide_reply.hpp"

#include <boost/test/unit_test.hpp>
#include <ostream>
#include <string>

using beamline::perf::classify_reply;
using beamline::perf::ReplyKind;
namespace router = beamline::router;

namespace beamline::perf
{
std::ostream& operator<<(std::ostream& out, ReplyKind kind)
{
    return out << (kind == ReplyKind::ok ? "ok" : kind == ReplyKind::overloaded ? "overloaded" : "other_error");
}
} // namespace beamline::perf

namespace
{

std::string error_reply_of(router::reply_error code, std::string_view message = {})
{
    std::string out;
    router::append_decide_error(out, router::error_reply{code, {}, message, 500, {}},
                                router::reply_context{"r-1", "t-1", {}});
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(reply_kind)

BOOST_AUTO_TEST_CASE(the_routers_overloaded_reply_is_an_overload_refusal)
{
    const std::string reply = error_reply_of(router::reply_error::overloaded, "backpressure active");
    BOOST_TEST(classify_reply(reply, true) == ReplyKind::overloaded);
    // Even a responder not checked for ok replies does not count a refusal as accepted.
    BOOST_TEST(classify_reply(reply, false) == ReplyKind::overloaded);
}

BOOST_AUTO_TEST_CASE(other_error_codes_are_other_errors)
{
    for (auto code : {router::reply_error::rate_limited, router::reply_error::internal,
                      router::reply_error::invalid_request})
        BOOST_TEST(classify_reply(error_reply_of(code), true) == ReplyKind::other_error);
}

BOOST_AUTO_TEST_CASE(the_code_quoted_inside_a_message_is_not_the_code)
{
    const std::string reply =
        error_reply_of(router::reply_error::internal, R"(upstream said "code":"overloaded")");
    BOOST_TEST(classify_reply(reply, true) == ReplyKind::other_error);
}

BOOST_AUTO_TEST_CASE(a_decision_is_accepted_and_unchecked_replies_stay_accepted)
{
    router::decision d;
    d.provider_id = "p-1";
    std::string reply;
    router::append_decide_success(reply, d, router::reply_context{"r-1", "t-1", {}});
    BOOST_TEST(classify_reply(reply, true) == ReplyKind::ok);
    BOOST_TEST(classify_reply("echo", false) == ReplyKind::ok);
    BOOST_TEST(classify_reply("echo", true) == ReplyKind::other_error);
    BOOST_TEST(classify_reply("", true) == ReplyKind::other_error);
}

BOOST_AUTO_TEST_SUITE_END()
