#include "beamline/router/backpressure.hpp"

#include <algorithm>
#include <cmath>

namespace beamline::router
{

std::string_view to_string(backpressure_state s) noexcept
{
    switch (s)
    {
    case backpressure_state::inactive:
        return "inactive";
    case backpressure_state::warning:
        return "warning";
    case backpressure_state::active:
        return "active";
    }
    return "unknown";
}

std::string_view to_string(backpressure_input i) noexcept
{
    switch (i)
    {
    case backpressure_input::inflight:
        return "inflight";
    case backpressure_input::latency_p95_ms:
        return "latency_p95_ms";
    case backpressure_input::pending_bytes:
        return "pending_bytes";
    case backpressure_input::consumer_pending:
        return "consumer_pending";
    }
    return "unknown";
}

backpressure_machine::backpressure_machine(backpressure_settings settings, clock::time_point now)
    : settings_(settings), since_(now)
{
}

bool backpressure_machine::over(std::size_t i) const
{
    return sample_[i] && *sample_[i] > settings_.marks[i].high;
}

bool backpressure_machine::below_low(std::size_t i) const
{
    return !sample_[i] || *sample_[i] < settings_.marks[i].low;
}

bool backpressure_machine::activation_due(clock::time_point now) const
{
    std::size_t over_now = 0;
    for (std::size_t i = 0; i < backpressure_input_count; ++i)
    {
        if (!over(i)) continue;
        ++over_now;
        if (over_since_[i] && now - *over_since_[i] >= settings_.activate_after) return true;
    }
    return over_now >= 2;
}

void backpressure_machine::enter(backpressure_state s, clock::time_point now)
{
    if (s == state_) return;
    if (s == backpressure_state::active) ++activations_;
    state_ = s;
    since_ = now;
}

backpressure_state backpressure_machine::evaluate(const backpressure_sample& sample, clock::time_point now)
{
    sample_ = sample;
    bool any_over = false;
    bool all_below = true;
    for (std::size_t i = 0; i < backpressure_input_count; ++i)
    {
        if (over(i))
        {
            any_over = true;
            if (!over_since_[i]) over_since_[i] = now;
        }
        else
        {
            over_since_[i].reset(); // "above for activate_after" means without a break
        }
        all_below = all_below && below_low(i);
    }
    if (!all_below) all_below_since_.reset();
    else if (!all_below_since_) all_below_since_ = now;

    if (!settings_.enabled)
    {
        enter(backpressure_state::inactive, now);
        return state_;
    }
    switch (state_)
    {
    case backpressure_state::active:
        if (all_below_since_ && now - *all_below_since_ >= settings_.recover_after)
            enter(backpressure_state::inactive, now);
        break;
    case backpressure_state::inactive:
    case backpressure_state::warning:
        if (activation_due(now)) enter(backpressure_state::active, now);
        else if (any_over) enter(backpressure_state::warning, now);
        // Back from warning only below the low marks: the gap between the marks keeps a value
        // that wanders around the high mark from toggling the state.
        else if (all_below) enter(backpressure_state::inactive, now);
        break;
    }
    return state_;
}

backpressure_reset_outcome backpressure_machine::reset(clock::time_point now)
{
    backpressure_reset_outcome out;
    out.previous = state_;
    for (std::size_t i = 0; i < backpressure_input_count; ++i)
        if (over(i)) out.still_over.push_back(static_cast<backpressure_input>(i));
    // The evaluation after the reset sees the same history: an input over its high mark long
    // enough, or two over at once, raises the state again (unless the inputs fall meanwhile).
    out.reactivates = settings_.enabled && activation_due(now);
    state_ = backpressure_state::inactive;
    since_ = now;
    return out;
}

std::uint32_t backpressure_machine::retry_after_ms() const noexcept
{
    if (state_ != backpressure_state::active) return 0;
    double overload = 1.0;
    for (std::size_t i = 0; i < backpressure_input_count; ++i)
        if (sample_[i] && settings_.marks[i].high > 0)
            overload = std::max(overload, *sample_[i] / settings_.marks[i].high);
    const double base = static_cast<double>(settings_.retry_after_base.count());
    const double max = static_cast<double>(std::max(settings_.retry_after_max, settings_.retry_after_base).count());
    return static_cast<std::uint32_t>(std::llround(std::clamp(base * overload, base, max)));
}

backpressure_status backpressure_machine::status(clock::time_point now) const
{
    backpressure_status s;
    s.state = state_;
    s.since = std::chrono::duration_cast<std::chrono::milliseconds>(std::max(now - since_, clock::duration::zero()));
    s.retry_after_ms = retry_after_ms();
    s.activations = activations_;
    for (std::size_t i = 0; i < backpressure_input_count; ++i)
        if (sample_[i])
            s.inputs.push_back({static_cast<backpressure_input>(i), *sample_[i], settings_.marks[i].high,
                                settings_.marks[i].low, over(i)});
    return s;
}

} // namespace beamline::router
