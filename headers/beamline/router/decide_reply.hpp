#pragma once
// DecideResponse and ErrorResponse encoding (SPEC §4.2, §4.3), appended to a caller's buffer so a
// buffer reused across requests makes replies without allocating. Unknown values are omitted:
// the replies never carry `null` or an invented "undefined".

#include "beamline/router/decide_errors.hpp"
#include "beamline/router/decision.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace beamline::router
{

struct decide_request;

/// The reply's `context`. An empty field is unknown and left out.
struct reply_context
{
    std::string_view request_id = {};
    std::string_view tenant_id = {};
    std::string_view trace_id = {};
};

reply_context context_of(const decide_request& r) noexcept;

/// An ErrorResponse. `intake` is set for intake refusals; `retry_after_ms` is written for
/// `rate_limited` and `overloaded` only; `details` (the exclusions) for `decision_failed` only.
struct error_reply
{
    reply_error code = reply_error::internal;
    std::optional<intake_code> intake = {};
    std::string_view message = {};
    std::uint64_t retry_after_ms = 0;
    std::span<const exclusion> details = {};
};

/// `{"ok":true,"decision":{...},"context":{...}}`.
void append_decide_success(std::string& out, const decision& d, const reply_context& ctx);

/// `{"ok":false,"error":{...},"context":{...}}`.
void append_decide_error(std::string& out, const error_reply& e, const reply_context& ctx);

/// The ErrorResponse for an intake refusal; its context carries the request id when it was read.
void append_intake_error(std::string& out, const intake_error& e);

/// The `decision` object as it appears in the reply and in ExecAssignment.decision.
void append_decision_object(std::string& out, const decision& d);

} // namespace beamline::router
