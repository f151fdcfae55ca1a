#include "beamline/router/results_pipeline.hpp"

namespace beamline::router
{

namespace
{

dead_letter_step letter(const result_delivery& d, const results_config& cfg, std::string reason, std::string error)
{
    dead_letter_step s;
    s.reason = std::move(reason);
    s.error = std::move(error);
    s.letter.subject = cfg.dead_letter_subject;
    s.letter.msg_id = dead_letter_id(cfg.results_stream, d.stream_seq);
    s.letter.body.assign(d.body.data(), d.body.size());
    // Header values are one line: a sentence that quotes the input must not break the block.
    std::string one_line = s.error;
    for (char& c : one_line)
        if (c == '\r' || c == '\n') c = ' ';
    s.letter.headers = {
        {"Beamline-Dlq-Reason", s.reason},
        {"Beamline-Dlq-Error", std::move(one_line)},
        {"Beamline-Original-Subject", std::string(d.subject)},
        {"Beamline-Original-Seq", std::to_string(d.stream_seq)},
    };
    return s;
}

} // namespace

result_step plan_result(const result_delivery& d, const results_config& cfg, std::int64_t now_ms)
{
    auto intake = parse_exec_result(d.body, d.headers, now_ms, cfg.limits);
    if (auto* rej = std::get_if<result_rejection>(&intake))
        return letter(d, cfg, std::string(rej->reason), std::move(rej->message));

    meter_step m{std::move(std::get<exec_result>(intake)), {}};
    m.usage.subject = cfg.usage_subject;
    m.usage.msg_id = usage_id_of(m.result);
    append_usage_event(m.usage.body, m.result);
    m.usage.headers = {{"tenant_id", m.result.tenant_id}};
    if (!m.result.trace_id.empty()) m.usage.headers.emplace_back("trace_id", m.result.trace_id);
    return m;
}

dead_letter_step plan_max_deliver_letter(const result_delivery& original, const results_config& cfg)
{
    return letter(original, cfg, "MAXDELIVER_EXHAUSTED",
                  "delivered " + std::to_string(original.delivered) +
                      " times without being acknowledged (usage could not be metered)");
}

settle_step after_usage_publish(const meter_step& step, usage_publish_outcome outcome, std::uint64_t delivered)
{
    settle_step s;
    switch (outcome)
    {
    case usage_publish_outcome::stored:
        s.feed_breaker = true;
        s.outcome = classify_result(to_string(step.result.status), step.result.error_code, step.result.error_type);
        break;
    case usage_publish_outcome::duplicate:
        // Metered before (a redelivery after a crash between PubAck and ack, or a second router):
        // the first processing fed the breaker.
        break;
    case usage_publish_outcome::failed:
        s.what = settle_step::action::nak;
        s.nak_delay = metering_retry_delay(delivered);
        break;
    }
    return s;
}

} // namespace beamline::router
