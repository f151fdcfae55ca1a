#pragma once
// A routing policy as the router uses it, parsed once from JSON (SPEC §5).
//
// Two dialects are read into the same model:
//   canonical  "providers":[{"name","weight","expected_latency_ms","cost"}], "fallbacks":[{"when","to"}],
//              "sticky":{"enabled","session_key","ttl":"10m"}
//   legacy     "weights":{"openai":0.7,"anthropic":0.3}, "fallback":{"provider","conditions":[..]},
//              "sticky":{"ttl_seconds":3600}
// Weights are relative: 70/30 and 0.7/0.3 select identically, and `share` holds each provider's
// normalised fraction. A legacy `fallback.conditions` list becomes one more rule
// {"when":{"status":conditions},"to":provider}, after any `fallbacks`; `fallback.provider` is also the
// last resort.
//
// Unknown top-level keys (the predecessor's `pre`, `validators`, `post`, `metadata`, `defaults`,
// `escalate_on`, ...) are accepted and carried in `extra`, unread, so existing policy files keep
// loading; their names are listed in `ignored_keys` so a loader can warn about typos.

#include <beamline/router/conditions.hpp>
#include <beamline/router/policy_error.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace beamline::router
{

struct provider_entry
{
    std::string name;
    double weight = 0;                         ///< as written; absent means 0 (a fallback-only target)
    double share = 0;                          ///< weight / sum of weights, 0 when the sum is 0
    std::optional<double> expected_latency_ms; ///< unknown passes `max_latency_ms`
    std::optional<double> cost;                ///< unknown passes `max_cost`
};

struct sticky_config
{
    bool enabled = false; ///< only an explicit `"enabled": true` turns stickiness on
    std::string session_key = "session_id";
    std::chrono::milliseconds ttl = std::chrono::hours(1);
};

struct fallback_rule
{
    condition when;
    std::string to;
};

struct rate_limit_config
{
    bool enabled = false;
    double requests_per_second = 100;
    double burst = 50;
};

/// Kept for the breaker module; the policy only validates and carries it.
struct circuit_breaker_config
{
    bool enabled = false;
    int failure_threshold = 5;
    int success_threshold = 2;
    std::chrono::milliseconds timeout = std::chrono::milliseconds(60000);
    int half_open_max_calls = 3;
    int min_requests = 20;
    double error_rate_threshold = 0.5;
    std::chrono::seconds window = std::chrono::seconds(60);
};

struct policy
{
    static constexpr std::size_t max_providers = 256;

    // What every decision reads comes first, so that it spans few cache lines: with many tenants
    // a policy is seldom in cache when its tenant's request arrives.
    std::string id; ///< policy id, set by whoever knows it (the store: the file name)
    std::string version = "1.0";
    std::vector<provider_entry> providers;
    /// Running sums of `weight` in `providers` order, for O(log n) weighted choice when no provider
    /// is excluded; total_weight is the last element (0 when there are no providers).
    std::vector<double> cumulative_weights;
    double total_weight = 0;
    sticky_config sticky;
    rate_limit_config rate_limit;
    circuit_breaker_config circuit_breaker;
    std::vector<fallback_rule> fallbacks;
    std::optional<std::string> fallback_provider; ///< legacy last resort
    // Read only to list or write the policy back.
    std::vector<std::string> fallback_conditions; ///< legacy `fallback.conditions`, as written
    boost::json::object extra;             ///< unknown top-level keys, carried unread
    std::vector<std::string> ignored_keys; ///< their names, in file order

    /// The provider entry with this name, or nullptr (a fallback target need not have one).
    const provider_entry* find_provider(std::string_view name) const noexcept;
};

/// Parses and validates a policy. Errors name the field: "providers[1].weight must be a
/// non-negative number", "sticky.ttl: \"10x\" is not a positive duration up to 366d (use 500ms, 30s, 10m, 1h
/// or 1d)".
policy_result<policy> parse_policy(std::string_view json, std::string_view id = {});
policy_result<policy> parse_policy(const boost::json::object& json, std::string_view id = {});

/// A number as an operator would write it in a message: "300", "0.002", "1e+09".
std::string format_number(double value);

} // namespace beamline::router
