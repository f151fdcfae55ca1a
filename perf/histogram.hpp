#pragma once
// Log-linear latency histogram in the manner of HdrHistogram: values below 2^kPrecisionBits are
// counted exactly, larger values in buckets whose width is 1/2^(kPrecisionBits-1) of their
// magnitude, so any recorded value is reported within 0.8% while the whole 64-bit range fits
// in about 7,400 counters. Recording is one count_leading_zeros and an increment: cheap enough
// for the reply path of a load generator. Not thread-safe; give each recording thread its own
// histogram and merge them.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

namespace beamline::perf
{

class LatencyHistogram
{
public:
    static constexpr unsigned kPrecisionBits = 8;
    static constexpr std::uint64_t kLinearLimit = std::uint64_t{1} << kPrecisionBits;
    static constexpr std::uint64_t kHalf = kLinearLimit / 2;
    static constexpr std::size_t kBucketCount = kLinearLimit + (64 - kPrecisionBits) * kHalf;

    LatencyHistogram() : counts_(kBucketCount, 0) {}

    void record(std::uint64_t value)
    {
        ++counts_[index_of(value)];
        ++total_;
        max_ = std::max(max_, value);
        sum_ += value;
    }

    void merge(const LatencyHistogram& other)
    {
        for (std::size_t i = 0; i < kBucketCount; ++i)
            counts_[i] += other.counts_[i];
        total_ += other.total_;
        max_ = std::max(max_, other.max_);
        sum_ += other.sum_;
    }

    [[nodiscard]] std::uint64_t count() const { return total_; }
    [[nodiscard]] std::uint64_t max() const { return max_; }
    [[nodiscard]] double mean() const { return total_ ? double(sum_) / double(total_) : 0.0; }

    // The smallest bucket bound at or below which `quantile` (0..1] of the values fall; the exact
    // maximum is returned for the last value so p100 never exceeds what was recorded.
    [[nodiscard]] std::uint64_t value_at_quantile(double quantile) const
    {
        if (total_ == 0) return 0;
        auto rank = static_cast<std::uint64_t>(quantile * double(total_) + 0.999999);
        rank = std::clamp<std::uint64_t>(rank, 1, total_);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < kBucketCount; ++i)
        {
            seen += counts_[i];
            if (seen >= rank) return std::min(highest_equivalent(i), max_);
        }
        return max_;
    }

    static std::size_t index_of(std::uint64_t value)
    {
        if (value < kLinearLimit) return static_cast<std::size_t>(value);
        const unsigned magnitude = 63 - static_cast<unsigned>(std::countl_zero(value));
        const unsigned shift = magnitude - kPrecisionBits + 1;
        const std::uint64_t top = value >> shift; // in [kHalf, kLinearLimit)
        return static_cast<std::size_t>(kLinearLimit + (shift - 1) * kHalf + (top - kHalf));
    }

    static std::uint64_t highest_equivalent(std::size_t index)
    {
        if (index < kLinearLimit) return index;
        const std::size_t offset = index - kLinearLimit;
        const unsigned shift = static_cast<unsigned>(offset / kHalf) + 1;
        const std::uint64_t top = kHalf + offset % kHalf;
        return ((top + 1) << shift) - 1;
    }

private:
    std::vector<std::uint64_t> counts_;
    std::uint64_t total_ = 0;
    std::uint64_t max_ = 0;
    std::uint64_t sum_ = 0;
};

} // namespace beamline::perf
