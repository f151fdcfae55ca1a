#include "beamline/router/results_pipeline.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <string>

using namespace beamline::router;
namespace json = boost::json;

namespace
{

constexpr std::string_view valid =
    R"({"version":"1","assignment_id":"a-7","tenant_id":"acme","provider_id":"openai","status":"timeout"})";

result_delivery delivery(std::string_view body, std::uint64_t seq = 17, std::uint64_t delivered = 1)
{
    return result_delivery{"caf.exec.result.v1", body, {}, seq, delivered};
}

std::string header(const outgoing_message& m, std::string_view key)
{
    for (const auto& [k, v] : m.headers)
        if (k == key) return v;
    return "<absent>";
}

} // namespace

BOOST_AUTO_TEST_SUITE(results_pipeline_suite)

BOOST_AUTO_TEST_CASE(a_valid_result_becomes_one_usage_event_with_its_idempotent_id)
{
    results_config cfg;
    auto step = plan_result(delivery(valid), cfg, 5);
    BOOST_TEST_REQUIRE(std::holds_alternative<meter_step>(step));
    const auto& m = std::get<meter_step>(step);
    BOOST_TEST(m.usage.subject == "beamline.usage.v1.metered");
    BOOST_TEST(m.usage.msg_id == "usage-acme-a-7");
    BOOST_TEST(header(m.usage, "tenant_id") == "acme");
    auto ev = json::parse(m.usage.body).as_object();
    BOOST_TEST(ev.at("status").as_string() == "timeout");
    BOOST_TEST(ev.at("timestamp").as_int64() == 5);
    // The same result delivered again plans the same message id: the stream drops the copy.
    BOOST_TEST(std::get<meter_step>(plan_result(delivery(valid, 18, 2), cfg, 9)).usage.msg_id == m.usage.msg_id);
}

BOOST_AUTO_TEST_CASE(an_invalid_result_becomes_a_dead_letter_carrying_the_original_body)
{
    results_config cfg;
    std::string body = R"({"version":"1","tenant_id":"acme","status":"success"})";
    auto step = plan_result(delivery(body, 99), cfg, 0);
    BOOST_TEST_REQUIRE(std::holds_alternative<dead_letter_step>(step));
    const auto& d = std::get<dead_letter_step>(step);
    BOOST_TEST(d.letter.subject == "caf.exec.result.v1.dlq");
    BOOST_TEST(d.letter.msg_id == "dlq-BEAMLINE_RESULTS-99");
    BOOST_TEST(d.letter.body == body);
    BOOST_TEST(header(d.letter, "Beamline-Dlq-Reason") == "INVALID_RESULT");
    BOOST_TEST(header(d.letter, "Beamline-Dlq-Error") == "a result needs assignment_id or request_id");
    BOOST_TEST(header(d.letter, "Beamline-Original-Subject") == "caf.exec.result.v1");
    BOOST_TEST(header(d.letter, "Beamline-Original-Seq") == "99");
}

BOOST_AUTO_TEST_CASE(a_dead_letter_error_header_is_one_line)
{
    results_config cfg;
    // A status quoting a newline: the sentence quotes it, the header must not carry it.
    auto step = plan_result(delivery(R"({"version":"1","assignment_id":"a","tenant_id":"t","provider_id":"p","status":"x\ny"})"),
                            cfg, 0);
    const auto& d = std::get<dead_letter_step>(step);
    BOOST_TEST(header(d.letter, "Beamline-Dlq-Error").find('\n') == std::string::npos);
    BOOST_TEST(d.error.find('\n') != std::string::npos); // the log keeps it as it was
}

BOOST_AUTO_TEST_CASE(max_deliver_exhaustion_letters_the_original_once_per_sequence)
{
    results_config cfg;
    auto d = plan_max_deliver_letter(delivery(valid, 41, 5), cfg);
    BOOST_TEST(d.reason == "MAXDELIVER_EXHAUSTED");
    BOOST_TEST(d.letter.msg_id == "dlq-BEAMLINE_RESULTS-41");
    BOOST_TEST(d.letter.body == valid);
    BOOST_TEST(header(d.letter, "Beamline-Dlq-Reason") == "MAXDELIVER_EXHAUSTED");
}

BOOST_AUTO_TEST_CASE(settling_acks_stored_and_duplicate_and_naks_failures_with_growing_delay)
{
    results_config cfg;
    auto m = std::get<meter_step>(plan_result(delivery(valid), cfg, 0));

    auto stored = after_usage_publish(m, usage_publish_outcome::stored, 1);
    BOOST_TEST((stored.what == settle_step::action::ack));
    BOOST_TEST(stored.feed_breaker);
    BOOST_TEST((stored.outcome == breaker_outcome::failure)); // status timeout

    auto dup = after_usage_publish(m, usage_publish_outcome::duplicate, 2);
    BOOST_TEST((dup.what == settle_step::action::ack));
    BOOST_TEST(!dup.feed_breaker); // counted once, by the first processing

    auto f1 = after_usage_publish(m, usage_publish_outcome::failed, 1);
    auto f3 = after_usage_publish(m, usage_publish_outcome::failed, 3);
    BOOST_TEST((f1.what == settle_step::action::nak));
    BOOST_TEST(f1.nak_delay.count() == 1000);
    BOOST_TEST(f3.nak_delay.count() == 4000);
    BOOST_TEST(!f1.feed_breaker);
}

BOOST_AUTO_TEST_SUITE_END()
