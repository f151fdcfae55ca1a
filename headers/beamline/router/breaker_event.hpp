#pragma once
// Breaker events shared among routers (SPEC §14): the router that processes an execution result
// feeds its own breaker and publishes what the result said on the core subject
// `beamline.router.v1.breaker.events` (no queue group); every other router feeds its breaker of the
// same (tenant, provider) with it, so each router's breakers see every result (§11), not only the
// share of the results the durable consumer handed to it.
//
// The event says what one result counted as, not a breaker transition: each router keeps its own
// breaker with its own clock and half-open trials, and thresholds count the same results
// everywhere. Only `success` and `failure` travel (an ignored result moves nothing).
//
//   {"version":"1","router_id":"…","tenant_id":"…","provider_id":"…","outcome":"failure","job_id":"…"}
//
// `job_id` (the result's assignment_id or request_id) is for logs only and optional. Members
// beyond these are ignored, so a newer router may add some. Pure: no transport.

#include "beamline/router/circuit_breaker.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace beamline::router
{

struct breaker_event
{
    std::string router_id;   ///< the publisher; a router ignores its own events
    std::string tenant_id;
    std::string provider_id;
    breaker_outcome outcome = breaker_outcome::failure; ///< success or failure, never ignored
    std::string job_id;      ///< empty: absent
};

/// Larger bodies are refused before parsing: an event is a few hundred bytes.
inline constexpr std::size_t breaker_event_max_bytes = 4096;
/// Ids (router, tenant, provider, job) are 1..128 printable ASCII characters without spaces.
inline constexpr std::size_t breaker_event_max_id = 128;

/// Appends the event's JSON. `outcome` must be success or failure.
void append_breaker_event(std::string& out, const breaker_event& e);

struct breaker_event_parse
{
    std::optional<breaker_event> event; ///< set when valid
    std::string error;                  ///< why not, naming the member, when invalid
};

/// Parses and validates one event; never throws on any bytes.
breaker_event_parse parse_breaker_event(std::string_view body) noexcept;

} // namespace beamline::router
