#pragma once
// A token bucket (rate per second, burst) with the time passed in, for per-tenant and per-policy
// limits. Refill is continuous, not in whole seconds, and a new bucket starts full.
// Not thread-safe: it lives with the tenant's other state on the tenant's strand.

#include <chrono>
#include <cstdint>

namespace beamline::router
{

class token_bucket
{
public:
    using clock = std::chrono::steady_clock;

    struct outcome
    {
        bool allowed = false;
        std::uint32_t retry_after_ms = 0; ///< when denied: time until one token is available, ≥ 1
    };

    token_bucket(double rate_per_second, double burst, clock::time_point now) noexcept;

    /// Takes one token if there is one.
    outcome try_acquire(clock::time_point now) noexcept;

    /// Applies a new rate and burst (a policy edit) keeping the tokens already earned, capped at
    /// the new burst.
    void reconfigure(double rate_per_second, double burst, clock::time_point now) noexcept;

    double tokens(clock::time_point now) noexcept;
    double rate() const noexcept { return rate_; }
    double burst() const noexcept { return burst_; }

private:
    void refill(clock::time_point now) noexcept;

    double rate_;
    double burst_;
    double tokens_;
    clock::time_point last_;
};

} // namespace beamline::router
