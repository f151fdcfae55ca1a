#include <algorithm>
#include <beamline/router/rate_limiter.hpp>
#include <cmath>

namespace beamline::router
{

namespace
{
// A rate of 0 would make retry_after infinite; the policy parser already refuses it, this keeps a
// hand-built bucket sane too.
constexpr double min_rate = 1e-6;
constexpr double max_retry_ms = 24.0 * 3600 * 1000;
} // namespace

token_bucket::token_bucket(double rate_per_second, double burst, clock::time_point now) noexcept
    : rate_(std::max(rate_per_second, min_rate)), burst_(std::max(burst, 1.0)), tokens_(burst_), last_(now)
{
}

void token_bucket::refill(clock::time_point now) noexcept
{
    if (now <= last_) return; // a clock that went backwards earns nothing
    std::chrono::duration<double> elapsed = now - last_;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
    last_ = now;
}

token_bucket::outcome token_bucket::try_acquire(clock::time_point now) noexcept
{
    refill(now);
    if (tokens_ >= 1.0)
    {
        tokens_ -= 1.0;
        return {true, 0};
    }
    double wait_ms = std::ceil((1.0 - tokens_) / rate_ * 1000.0);
    return {false, static_cast<std::uint32_t>(std::clamp(wait_ms, 1.0, max_retry_ms))};
}

void token_bucket::reconfigure(double rate_per_second, double burst, clock::time_point now) noexcept
{
    refill(now);
    rate_ = std::max(rate_per_second, min_rate);
    burst_ = std::max(burst, 1.0);
    tokens_ = std::min(tokens_, burst_);
}

double token_bucket::tokens(clock::time_point now) noexcept
{
    refill(now);
    return tokens_;
}

} // namespace beamline::router
