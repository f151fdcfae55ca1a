#pragma once
// Backpressure as a pure state machine (SPEC §12): the caller samples the inputs, hands them in
// with the time, and reads the state. No I/O, no clock of its own, not thread-safe (the daemon
// wraps it in app/backpressure_gate).
//
//   inactive ──(an input above its high mark)──────────────────────────────► warning
//   warning  ──(every input below its low mark)─────────────────────────────► inactive
//   inactive/warning ──(an input above high for activate_after, or two above high at once)──► active
//   active   ──(every input below its low mark, without a break, for recover_after)──► inactive
//
// The gap between the marks is the hysteresis: a value wandering around one mark never moves the
// state back and forth.

#include "beamline/router/latency_window.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace beamline::router
{

/// The values are those of the metric router_backpressure_state (0, 1, 2).
enum class backpressure_state
{
    inactive,
    warning,
    active,
};
std::string_view to_string(backpressure_state s) noexcept;

/// The inputs, in the order the status lists them.
enum class backpressure_input : std::size_t
{
    inflight,         ///< decide requests taken off the subscription and not yet answered
    latency_p95_ms,   ///< p95 decide latency over the sliding window, in milliseconds
    pending_bytes,    ///< NATS outbound bytes not yet written to the socket
    consumer_pending, ///< results consumer pending + ack-pending (absent without a consumer)
};
inline constexpr std::size_t backpressure_input_count = 4;
/// "inflight", "latency_p95_ms", "pending_bytes", "consumer_pending".
std::string_view to_string(backpressure_input i) noexcept;

struct backpressure_marks
{
    double high = 0;
    double low = 0;
};

struct backpressure_settings
{
    bool enabled = true;
    std::array<backpressure_marks, backpressure_input_count> marks{{
        {1000, 500},              // inflight
        {250, 50},                // latency_p95_ms
        {4 << 20, 1 << 20},       // pending_bytes
        {10'000, 1'000},          // consumer_pending
    }};
    std::chrono::milliseconds activate_after{1000};
    std::chrono::milliseconds recover_after{5000};
    /// retry_after_ms = clamp(retry_after_base × overload, retry_after_base, retry_after_max),
    /// overload = the largest value/high among the inputs (at least 1).
    std::chrono::milliseconds retry_after_base{250};
    std::chrono::milliseconds retry_after_max{30'000};

    backpressure_marks& operator[](backpressure_input i) { return marks[static_cast<std::size_t>(i)]; }
    const backpressure_marks& operator[](backpressure_input i) const { return marks[static_cast<std::size_t>(i)]; }
};

/// One sample of every input; an absent input (nullopt) takes no part in any rule.
using backpressure_sample = std::array<std::optional<double>, backpressure_input_count>;

struct backpressure_input_status
{
    backpressure_input input;
    double value = 0;
    double high = 0;
    double low = 0;
    bool over = false; ///< value > high
};

struct backpressure_status
{
    backpressure_state state = backpressure_state::inactive;
    std::chrono::milliseconds since{0}; ///< time spent in this state
    std::uint32_t retry_after_ms = 0;   ///< 0 unless active
    std::uint64_t activations = 0;
    std::vector<backpressure_input_status> inputs; ///< present inputs only, in enum order
};

struct backpressure_reset_outcome
{
    backpressure_state previous = backpressure_state::inactive;
    std::vector<backpressure_input> still_over; ///< inputs above their high mark at the reset
    /// True when the next evaluation, given the same inputs, raises the state to active again.
    bool reactivates = false;
};

class backpressure_machine
{
public:
    using clock = std::chrono::steady_clock;

    backpressure_machine(backpressure_settings settings, clock::time_point now);

    /// Takes a sample of the inputs at `now` and moves the state; returns the new state.
    backpressure_state evaluate(const backpressure_sample& sample, clock::time_point now);

    /// Forces `inactive` now. Input history is kept, so an input that has been above its high mark
    /// long enough raises the state again at the next evaluation; the outcome says whether it will.
    backpressure_reset_outcome reset(clock::time_point now);

    backpressure_state state() const noexcept { return state_; }
    std::uint64_t activations() const noexcept { return activations_; }
    /// 0 unless active; see backpressure_settings::retry_after_base for the formula.
    std::uint32_t retry_after_ms() const noexcept;
    backpressure_status status(clock::time_point now) const;
    const backpressure_settings& settings() const noexcept { return settings_; }
    const backpressure_sample& last_sample() const noexcept { return sample_; }

private:
    bool over(std::size_t i) const;
    bool below_low(std::size_t i) const;
    bool activation_due(clock::time_point now) const;
    void enter(backpressure_state s, clock::time_point now);

    backpressure_settings settings_;
    backpressure_state state_ = backpressure_state::inactive;
    clock::time_point since_;
    std::uint64_t activations_ = 0;
    backpressure_sample sample_{};
    std::array<std::optional<clock::time_point>, backpressure_input_count> over_since_{};
    std::optional<clock::time_point> all_below_since_;
};

} // namespace beamline::router
