#pragma once
// ExecResult intake and the usage event it becomes (SPEC §10).
//
// A result from the execution tier is validated once; a valid one becomes exactly one usage event
// (its JetStream message id makes a redelivered result a duplicate the stream drops), an invalid
// one becomes a dead letter with a reason code and a sentence. Pure: no transport, no clock (the
// caller passes "now" for a result without a timestamp).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace beamline::router
{

enum class result_status : std::uint8_t
{
    success,
    error,
    timeout,
    cancelled,
};
std::string_view to_string(result_status s) noexcept;

/// Headers that win over the payload (SPEC §10).
struct result_headers
{
    std::optional<std::string_view> version = {};
    std::optional<std::string_view> tenant_id = {};
    std::optional<std::string_view> trace_id = {};
};

struct exec_result
{
    std::string assignment_id; ///< at least one of assignment_id and request_id is set
    std::string request_id;
    std::string tenant_id;
    std::string provider_id;
    result_status status = result_status::success;
    std::string job_type; ///< empty: absent
    std::optional<double> latency_ms;
    std::optional<double> cost;
    std::string error_code;
    std::string error_type;
    std::string error_message;
    std::string trace_id;
    std::int64_t timestamp_ms = 0;

    /// The id that names the job: assignment_id, else request_id.
    std::string_view job_id() const noexcept { return assignment_id.empty() ? request_id : assignment_id; }
};

/// Why a result was refused: the dead letter's `Beamline-Dlq-Reason` and `Beamline-Dlq-Error`.
struct result_rejection
{
    std::string_view reason = "INVALID_RESULT";
    std::string message;
};

struct result_limits
{
    std::size_t max_payload = 1024 * 1024;
    std::size_t max_id_length = 128;    ///< assignment_id, request_id, provider_id, error codes
    std::size_t max_text_length = 4096; ///< error_message is truncated to this, not refused
};

using result_intake = std::variant<exec_result, result_rejection>;

/// Ids travel in message ids and headers: 1..max printable ASCII characters, no spaces.
bool is_printable_id(std::string_view s, std::size_t max) noexcept;

/// Parses and validates one ExecResult. `now_ms` (Unix ms) stands in for a missing timestamp.
result_intake parse_exec_result(std::string_view body, const result_headers& headers, std::int64_t now_ms,
                                const result_limits& limits = {});

/// `usage-<tenant>-<assignment_id or request_id>`: the usage event's id and its `Nats-Msg-Id`.
std::string usage_id_of(const exec_result& r);

/// Appends the usage event JSON (SPEC §10): absent values are omitted, never "undefined".
void append_usage_event(std::string& out, const exec_result& r);

/// `dlq-<stream>-<seq>`: the same message dead-lettered by N routers is stored once.
std::string dead_letter_id(std::string_view stream, std::uint64_t stream_seq);

/// The `-NAK` delay after a failed metering attempt: 1 s, 2 s, 4 s … for delivery 1, 2, 3 …,
/// capped at 30 s.
std::chrono::milliseconds metering_retry_delay(std::uint64_t delivered) noexcept;

} // namespace beamline::router
