#pragma once
// A quantile over a sliding time window in bounded memory, for the backpressure latency input.
//
// The window is a ring of `slot_count` slots of `slot_length` each; a slot is a histogram with
// four logarithmic bins per power of two of microseconds (each bin at most 25% wide), so memory
// is fixed (slot_count × bin_count counters) whatever the rate. A value read back is the upper
// bound of its bin: an overestimate by at most 25%, never an underestimate. The window covers the
// current slot and the slot_count - 1 before it, so a sample ages out between
// (slot_count - 1) × slot_length and slot_count × slot_length after it was recorded.
//
// Pure and not thread-safe; time is passed in.

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

namespace beamline::router
{

class latency_window
{
public:
    using clock = std::chrono::steady_clock;
    static constexpr std::size_t bin_count = 8 + 4 * 37; ///< up to 2^40 µs (12 days)

    explicit latency_window(std::chrono::milliseconds slot_length = std::chrono::milliseconds{1000},
                            std::size_t slot_count = 10);

    void record(std::chrono::microseconds latency, clock::time_point now);

    /// The q-quantile (0 < q ≤ 1) of the samples in the window, in microseconds; 0 when the window
    /// holds fewer than `min_samples` samples (a handful of slow requests is not a trend).
    std::uint64_t quantile(double q, clock::time_point now, std::uint64_t min_samples = 1) const;
    std::uint64_t count(clock::time_point now) const;
    /// Samples in the current slot and the one before it: 0 means nothing was recorded for at
    /// least one slot length.
    std::uint64_t recent_count(clock::time_point now) const;

    /// Bin of a value and the largest value that bin holds (exposed for tests).
    static std::size_t bin_of(std::uint64_t micros) noexcept;
    static std::uint64_t bin_upper(std::size_t bin) noexcept;

private:
    struct slot
    {
        std::int64_t tick = -1; ///< which slot_length interval since the epoch it holds
        std::uint64_t total = 0;
        std::array<std::uint32_t, bin_count> bins{};
    };
    std::int64_t tick_of(clock::time_point t) const;
    bool live(const slot& s, std::int64_t now_tick) const;

    clock::duration slot_length_;
    std::vector<slot> slots_;
};

} // namespace beamline::router
