#include "beamline/router/latency_window.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace beamline::router
{

latency_window::latency_window(std::chrono::milliseconds slot_length, std::size_t slot_count)
    : slot_length_(std::max<clock::duration>(slot_length, std::chrono::milliseconds{1})),
      slots_(std::max<std::size_t>(slot_count, 1))
{
}

std::size_t latency_window::bin_of(std::uint64_t micros) noexcept
{
    if (micros < 8) return static_cast<std::size_t>(micros);
    const auto width = static_cast<std::size_t>(std::bit_width(micros)); // ≥ 4
    const auto sub = static_cast<std::size_t>((micros >> (width - 3)) & 3);
    return std::min(8 + (width - 4) * 4 + sub, bin_count - 1);
}

std::uint64_t latency_window::bin_upper(std::size_t bin) noexcept
{
    if (bin < 8) return bin;
    const std::size_t k = bin - 8;
    const std::size_t width = k / 4 + 4;
    const std::uint64_t sub = k % 4;
    return ((5 + sub) << (width - 3)) - 1;
}

std::int64_t latency_window::tick_of(clock::time_point t) const
{
    return static_cast<std::int64_t>(t.time_since_epoch() / slot_length_);
}

bool latency_window::live(const slot& s, std::int64_t now_tick) const
{
    return s.tick >= 0 && s.tick <= now_tick && now_tick - s.tick < static_cast<std::int64_t>(slots_.size());
}

void latency_window::record(std::chrono::microseconds latency, clock::time_point now)
{
    const auto tick = tick_of(now);
    auto& s = slots_[static_cast<std::size_t>(tick % static_cast<std::int64_t>(slots_.size()))];
    if (s.tick != tick)
    {
        s.tick = tick;
        s.total = 0;
        s.bins.fill(0);
    }
    const auto micros = latency.count() < 0 ? std::uint64_t{0} : static_cast<std::uint64_t>(latency.count());
    auto& bin = s.bins[bin_of(micros)];
    if (bin == UINT32_MAX) return; // saturated: more samples in one bin of one slot add nothing
    ++bin;
    ++s.total;
}

std::uint64_t latency_window::count(clock::time_point now) const
{
    const auto tick = tick_of(now);
    std::uint64_t n = 0;
    for (const auto& s : slots_)
        if (live(s, tick)) n += s.total;
    return n;
}

std::uint64_t latency_window::recent_count(clock::time_point now) const
{
    const auto tick = tick_of(now);
    std::uint64_t n = 0;
    for (const auto& s : slots_)
        if (live(s, tick) && tick - s.tick <= 1) n += s.total;
    return n;
}

std::uint64_t latency_window::quantile(double q, clock::time_point now, std::uint64_t min_samples) const
{
    const auto tick = tick_of(now);
    std::array<std::uint64_t, bin_count> merged{};
    std::uint64_t n = 0;
    for (const auto& s : slots_)
    {
        if (!live(s, tick)) continue;
        n += s.total;
        for (std::size_t b = 0; b < bin_count; ++b)
            merged[b] += s.bins[b];
    }
    if (n == 0 || n < min_samples) return 0;
    // The rank of the q-quantile among n samples, 1-based: the smallest value with at least
    // ceil(q × n) samples at or below it (the epsilon keeps 0.95 × 100 from rounding up to 96).
    const auto rank = static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(n) - 1e-9));
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < bin_count; ++b)
    {
        seen += merged[b];
        if (seen >= std::max<std::uint64_t>(rank, 1)) return bin_upper(b);
    }
    return bin_upper(bin_count - 1);
}

} // namespace beamline::router
