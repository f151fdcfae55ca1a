#pragma once
// What the router does with one delivered ExecResult (SPEC §10), as decisions without I/O:
//
//   delivery ─► validate ─┬─ invalid ─► dead letter (body unchanged, reason headers) ─► +TERM
//                         └─ valid ───► usage event (Nats-Msg-Id usage-<tenant>-<id>) ─► await PubAck
//                                         ├─ stored ────► feed the breaker ─► +ACK
//                                         ├─ duplicate ─► +ACK (the breaker saw it the first time)
//                                         └─ failed ────► -NAK, delay growing with `delivered`
//
// The consumer that performs these steps over JetStream lives with the transport; this room
// decides them, so every branch is tested without a server.

#include "beamline/router/circuit_breaker.hpp"
#include "beamline/router/exec_result.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace beamline::router
{

struct results_config
{
    std::string results_stream = "BEAMLINE_RESULTS";
    std::string usage_subject = "beamline.usage.v1.metered";
    std::string dead_letter_subject = "caf.exec.result.v1.dlq";
    result_limits limits;
};

/// One message as the consumer received it.
struct result_delivery
{
    std::string_view subject;
    std::string_view body;
    result_headers headers;
    std::uint64_t stream_seq = 0;
    std::uint64_t delivered = 1; ///< 1 on the first delivery
};

/// A message to publish with JetStream (PubAck awaited), headers in order.
struct outgoing_message
{
    std::string subject;
    std::string msg_id;
    std::vector<std::pair<std::string, std::string>> headers; ///< besides Nats-Msg-Id
    std::string body;
};

/// Publish this usage event, then settle with `after_usage_publish`.
struct meter_step
{
    exec_result result;
    outgoing_message usage;
};

/// Publish this dead letter, then `+TERM` the original (whatever the dead-letter publish did: an
/// invalid result never becomes valid by being redelivered).
struct dead_letter_step
{
    outgoing_message letter;
    std::string reason; ///< INVALID_RESULT, MAXDELIVER_EXHAUSTED
    std::string error;
};

using result_step = std::variant<meter_step, dead_letter_step>;

result_step plan_result(const result_delivery& d, const results_config& cfg, std::int64_t now_ms);

/// The dead letter of a result that exhausted MaxDeliver; `original` is the stored message
/// fetched by its stream sequence.
dead_letter_step plan_max_deliver_letter(const result_delivery& original, const results_config& cfg);

enum class usage_publish_outcome : std::uint8_t
{
    stored,
    duplicate,
    failed,
};

struct settle_step
{
    enum class action : std::uint8_t
    {
        ack,
        nak,
    } what = action::ack;
    std::chrono::milliseconds nak_delay{0};
    bool feed_breaker = false;
    breaker_outcome outcome = breaker_outcome::ignored;
};

settle_step after_usage_publish(const meter_step& step, usage_publish_outcome outcome, std::uint64_t delivered);

} // namespace beamline::router
