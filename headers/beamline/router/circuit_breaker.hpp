#pragma once
// Circuit breakers per (tenant, provider), fed by execution results (SPEC §11).
//
//   closed ──(failure_threshold consecutive failures, or error rate ≥ threshold over the window
//             once the window holds min_requests results)──► open
//   open ──(timeout elapsed; seen lazily by the next look)──► half_open
//   half_open ──(success_threshold successes)──► closed;  ──(any failure)──► open
//
// In half_open at most half_open_max_calls decisions go to the provider (trials); until a trial's
// result comes back the others are steered elsewhere (for at most `timeout` after the last trial:
// then trials are offered again, so results that never come cannot shut the provider out). Pure: the caller passes the time, so every
// transition is tested with a fake clock. One breaker_board per tenant, owned by whoever owns the
// tenant's state (its strand): nothing here is synchronised.

#include "beamline/router/policy.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace beamline::router
{

enum class breaker_state : std::uint8_t
{
    closed = 0,
    open = 1,
    half_open = 2, ///< the value `router_breaker_state` exports
};
std::string_view to_string(breaker_state s) noexcept;

/// What one result says about the provider.
enum class breaker_outcome : std::uint8_t
{
    success,
    failure,
    ignored, ///< neither: a cancelled job, a caller's bad input
};
std::string_view to_string(breaker_outcome o) noexcept;

/// The classification of SPEC §11. `status` is the result's; `error_code` and `error_type` count
/// only for `status == "error"`, compared case-insensitively with the provider-fault list
/// (`provider_fault_names()`). The free-text error message is never read.
breaker_outcome classify_result(std::string_view status, std::string_view error_code, std::string_view error_type) noexcept;
/// The documented list of error codes/types that are the provider's fault.
const std::vector<std::string_view>& provider_fault_names();

struct breaker_transition
{
    breaker_state from;
    breaker_state to;
    std::string_view reason; ///< "failure_threshold", "error_rate", "timeout_elapsed", "trial_failed", "trials_succeeded", "reset"
};

class circuit_breaker
{
public:
    using clock = std::chrono::steady_clock;
    /// The window is kept as this many buckets: bounded memory whatever window_seconds says.
    static constexpr std::size_t window_buckets = 60;

    explicit circuit_breaker(const circuit_breaker_config& cfg = {});

    /// A policy reload: new thresholds apply from now; state and window are kept.
    void configure(const circuit_breaker_config& cfg);
    const circuit_breaker_config& config() const noexcept { return cfg_; }

    /// The state as of `now` (an open breaker whose timeout has elapsed reads as half_open).
    breaker_state state(clock::time_point now) const noexcept;
    /// Whether selection may choose the provider now. No side effect.
    bool allows(clock::time_point now) const noexcept;
    /// A decision chose the provider: in half_open this takes one trial. Returns the lazy
    /// open → half_open transition when this call is the first to see it.
    std::optional<breaker_transition> admit(clock::time_point now);
    /// A result for the provider.
    std::optional<breaker_transition> record(breaker_outcome outcome, clock::time_point now);
    /// Operator reset: closed, window and counters cleared.
    std::optional<breaker_transition> reset(clock::time_point now);

    struct snapshot
    {
        breaker_state state;
        std::uint32_t window_requests;
        std::uint32_t window_failures;
        std::uint32_t consecutive_failures;
        std::uint32_t half_open_calls;
        std::uint32_t half_open_successes;
        std::chrono::milliseconds open_remaining; ///< until half_open; 0 unless open
    };
    snapshot inspect(clock::time_point now) const noexcept;

private:
    struct bucket
    {
        std::int64_t slot = -1; ///< which bucket-length slot of time this bucket counts
        std::uint32_t requests = 0;
        std::uint32_t failures = 0;
    };

    std::int64_t slot_of(clock::time_point now) const noexcept;
    std::chrono::nanoseconds bucket_length() const noexcept;
    void count(bool failure, clock::time_point now) noexcept;
    std::pair<std::uint32_t, std::uint32_t> window_totals(clock::time_point now) const noexcept;
    std::optional<breaker_transition> settle(clock::time_point now);
    /// Half-open, trials taken, and no result for any of them for `timeout`.
    bool trials_lapsed(clock::time_point now) const noexcept;
    breaker_transition move(breaker_state to, std::string_view reason, clock::time_point now);

    circuit_breaker_config cfg_;
    breaker_state state_ = breaker_state::closed;
    clock::time_point opened_at_{};
    clock::time_point last_trial_at_{};
    std::uint32_t consecutive_failures_ = 0;
    std::uint32_t half_open_calls_ = 0;
    std::uint32_t half_open_successes_ = 0;
    std::array<bucket, window_buckets> window_{};
};

/// One tenant's breakers, by provider. Bounded: at most `max_breakers` providers are tracked
/// (results naming further providers are counted in `untracked()` and otherwise ignored).
class breaker_board
{
public:
    using clock = circuit_breaker::clock;
    static constexpr std::size_t default_max_breakers = policy::max_providers;

    explicit breaker_board(std::size_t max_breakers = default_max_breakers) : max_(max_breakers) {}

    /// True when the provider's breaker keeps it out of selection now (open, or half_open with
    /// every trial taken). A provider with no breaker, or under a policy whose breaker block is
    /// disabled, is never excluded.
    bool excludes(std::string_view provider, const circuit_breaker_config& cfg, clock::time_point now) const noexcept;
    std::optional<breaker_transition> admit(std::string_view provider, clock::time_point now);
    /// Feeds one result; `cfg` is the tenant policy's block (disabled: nothing is recorded).
    std::optional<breaker_transition> record(std::string_view provider, breaker_outcome outcome,
                                             const circuit_breaker_config& cfg, clock::time_point now);
    /// Resets one provider's breaker (empty: all); returns how many were reset.
    std::size_t reset(std::string_view provider, clock::time_point now);

    struct entry
    {
        std::string provider;
        circuit_breaker::snapshot state;
    };
    std::vector<entry> list(clock::time_point now) const;
    /// One provider's breaker as of `now`, when it has one.
    std::optional<breaker_state> state(std::string_view provider, clock::time_point now) const noexcept;
    std::optional<circuit_breaker::snapshot> inspect(std::string_view provider, clock::time_point now) const noexcept;
    std::size_t size() const noexcept { return breakers_.size(); }
    std::uint64_t untracked() const noexcept { return untracked_; }

private:
    struct hash
    {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    const circuit_breaker* find(std::string_view provider) const noexcept;
    circuit_breaker* find(std::string_view provider) noexcept;

    std::size_t max_;
    std::uint64_t untracked_ = 0;
    std::unordered_map<std::string, circuit_breaker, hash, std::equal_to<>> breakers_;
};

} // namespace beamline::router
