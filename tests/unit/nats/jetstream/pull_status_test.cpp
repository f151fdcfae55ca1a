#include <beamline/nats/error.hpp>
#include <beamline/nats/jetstream/error.hpp>
#include <beamline/nats/jetstream/pull_status.hpp>
#include <boost/test/unit_test.hpp>

#include <string>

using namespace beamline::nats;
using namespace beamline::nats::jetstream;

namespace
{

status_info classify_block(const std::string& block)
{
    message_view v;
    v.subject = "_INBOX.x";
    v.header_block = block;
    return classify(v);
}

} // namespace

BOOST_AUTO_TEST_SUITE(jetstream_pull_status)

BOOST_AUTO_TEST_CASE(every_status_has_its_kind_and_severity)
{
    struct row
    {
        const char* block;
        pull_status kind;
        status_severity severity;
        std::error_code error;
    };
    const row rows[] = {
        {"NATS/1.0 100 Idle Heartbeat\r\n\r\n", pull_status::idle_heartbeat, status_severity::none, {}},
        {"NATS/1.0 404 No Messages\r\n\r\n", pull_status::no_messages, status_severity::silent, js_errc::no_messages},
        {"NATS/1.0 408 Request Timeout\r\n\r\n", pull_status::request_timeout, status_severity::silent, beamline::nats::errc::timeout},
        {"NATS/1.0 409 Message Size Exceeds MaxBytes\r\n\r\n", pull_status::max_bytes_exceeded, status_severity::silent, {}},
        {"NATS/1.0 409 Leadership Change\r\n\r\n", pull_status::leadership_change, status_severity::silent, {}},
        {"NATS/1.0 409 Exceeded MaxWaiting\r\n\r\n", pull_status::limit_exceeded, status_severity::warning, js_errc::pull_refused},
        {"NATS/1.0 409 Exceeded MaxRequestBatch of 10\r\n\r\n", pull_status::limit_exceeded, status_severity::warning, js_errc::pull_refused},
        {"NATS/1.0 409 Exceeded MaxRequestExpires of 1s\r\n\r\n", pull_status::limit_exceeded, status_severity::warning, js_errc::pull_refused},
        {"NATS/1.0 409 Exceeded MaxRequestMaxBytes of 100\r\n\r\n", pull_status::limit_exceeded, status_severity::warning, js_errc::pull_refused},
        {"NATS/1.0 409 Consumer Deleted\r\n\r\n", pull_status::consumer_deleted, status_severity::terminal, js_errc::consumer_deleted},
        {"NATS/1.0 409 Consumer is push based\r\n\r\n", pull_status::push_based, status_severity::terminal, js_errc::consumer_is_push_based},
        {"NATS/1.0 409 consumer deleted\r\n\r\n", pull_status::consumer_deleted, status_severity::terminal, js_errc::consumer_deleted},
        {"NATS/1.0 409 Something New\r\n\r\n", pull_status::unknown, status_severity::warning, js_errc::unexpected_status},
        {"NATS/1.0 400 Bad Request\r\n\r\n", pull_status::bad_request, status_severity::terminal, js_errc::bad_request},
        {"NATS/1.0 503\r\n\r\n", pull_status::no_responders, status_severity::warning, js_errc::not_enabled},
        {"NATS/1.0 418 Teapot\r\n\r\n", pull_status::unknown, status_severity::warning, js_errc::unexpected_status},
    };
    for (const auto& r : rows)
        BOOST_TEST_CONTEXT(r.block)
        {
            status_info s = classify_block(r.block);
            BOOST_TEST((s.kind == r.kind));
            BOOST_TEST((s.severity == r.severity));
            BOOST_TEST(status_error(s) == r.error);
            BOOST_TEST(s.ends_pull() == (r.kind != pull_status::idle_heartbeat));
        }
}

BOOST_AUTO_TEST_CASE(pending_headers_of_an_ended_pull_are_read)
{
    status_info s = classify_block("NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 7\r\nNats-Pending-Bytes: 900\r\n\r\n");
    BOOST_TEST((s.kind == pull_status::request_timeout));
    BOOST_TEST(s.pending_messages == 7u);
    BOOST_TEST(s.pending_bytes == 900u);
}

BOOST_AUTO_TEST_CASE(a_message_with_headers_but_no_status_is_a_message)
{
    BOOST_TEST((classify_block("NATS/1.0\r\nNats-Msg-Id: 1\r\n\r\n").kind == pull_status::message));
    BOOST_TEST((classify_block("").kind == pull_status::message));
    BOOST_TEST((classify_status(0, "").kind == pull_status::message));
}

BOOST_AUTO_TEST_SUITE_END()
