#pragma once
// The vocabulary shared by the decide contract (request → reply) and policy selection:
// what the caller constrains, what the router decided, and why a provider was left out.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace beamline::router
{

/// Why a provider was chosen. The wire names and priorities are part of the v1 contract.
enum class decision_reason
{
    sticky,
    weighted,
    fallback,
    circuit_breaker_fallback,
};

constexpr std::string_view to_string(decision_reason r) noexcept
{
    switch (r)
    {
    case decision_reason::sticky: return "sticky";
    case decision_reason::weighted: return "weighted";
    case decision_reason::fallback: return "fallback";
    case decision_reason::circuit_breaker_fallback: return "circuit_breaker_fallback";
    }
    return "weighted";
}

constexpr int priority_of(decision_reason r) noexcept
{
    switch (r)
    {
    case decision_reason::sticky: return 100;
    case decision_reason::weighted: return 50;
    case decision_reason::fallback: return 25;
    case decision_reason::circuit_breaker_fallback: return 20;
    }
    return 50;
}

/// The request's `constraints` keys the router understands. Unknown figures pass: a provider
/// with no expected latency is never excluded by `max_latency_ms`.
struct constraints
{
    std::optional<double> max_latency_ms;
    std::optional<double> max_cost;
    std::optional<std::vector<std::string>> providers_allow; ///< absent = every provider allowed
    std::vector<std::string> providers_deny;
};

/// A successful routing decision, as it appears in DecideResponse.decision.
struct decision
{
    std::string provider_id;
    decision_reason reason = decision_reason::weighted;
    double expected_latency_ms = 0; ///< from the policy's provider entry, 0 when unset
    double expected_cost = 0;       ///< from the policy's provider entry, 0 when unset
    std::string policy_id;
    std::string policy_version;

    int priority() const noexcept { return priority_of(reason); }
};

/// One line of a `decision_failed` reply's details: which provider was excluded and why,
/// in words an operator understands ("denied by providers_deny", "circuit breaker open", ...).
struct exclusion
{
    std::string provider;
    std::string reason;
};

} // namespace beamline::router
