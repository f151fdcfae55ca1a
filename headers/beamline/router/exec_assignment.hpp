#pragma once
// ExecAssignment (SPEC §4.5): the job the router pushes to the execution tier after a decision,
// when the request set `push_assignment`.

#include "beamline/router/decision.hpp"
#include "beamline/router/ids.hpp"

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace beamline::router
{

struct decide_request;

struct header_field
{
    std::string_view name; ///< one of the fixed header names below
    std::string value;
};

/// `tenant_id`, `version`, `trace_id`, `traceparent`: fits without a heap allocation.
using assignment_headers = boost::container::small_vector<header_field, 4>;

struct exec_assignment
{
    std::string assignment_id; ///< fresh UUID v4
    std::string trace_id;      ///< 32 lowercase hex: the request's trace, or one started here
    assignment_headers headers;
};

/// `options.deadline_ms` default: five times the expected latency, clamped to [5000, 60000] ms.
std::int64_t assignment_deadline_ms(double expected_latency_ms) noexcept;

/// Where the assignment goes: the request's `assignment_subject` (validated at intake), else the
/// configured default.
std::string_view assignment_subject_for(const decide_request& r,
                                        std::string_view configured_default) noexcept;

/// Appends the ExecAssignment body for `r` decided as `d` to `body` and returns its id and headers.
/// The headers always carry a valid W3C `traceparent` with a fresh span id; when the request had
/// no trace id a new trace is started, and `trace_id` names it too. The body's `correlation`
/// carries only a trace id the caller gave.
exec_assignment append_exec_assignment(std::string& body, const decide_request& r, const decision& d,
                                       random_ref rng);

} // namespace beamline::router
