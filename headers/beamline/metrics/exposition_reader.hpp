#pragma once
// Reads the Prometheus text format (0.0.4) back into samples, for the tools that judge a running
// router from its own /metrics (`beamline_router report`). Comments and TYPE/HELP lines are
// skipped; a malformed line is an error naming its number, never a guess.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace beamline::metrics
{

struct sample
{
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels; ///< in the order written
    double value = 0;

    /// The value of label `key`, or nullopt.
    std::optional<std::string_view> label(std::string_view key) const noexcept;
};

struct exposition
{
    std::vector<sample> samples;

    /// Sum of every sample named `name` whose labels include all of `match`; nullopt when no
    /// sample of that name exists (so "not exported" differs from 0).
    std::optional<double> sum(std::string_view name,
                              const std::vector<std::pair<std::string_view, std::string_view>>& match = {}) const;

    /// The values of `name` summed per distinct value of label `by`, largest first.
    std::vector<std::pair<std::string, double>> sum_by(
        std::string_view name, std::string_view by,
        const std::vector<std::pair<std::string_view, std::string_view>>& match = {}) const;

    /// Cumulative histogram buckets of `name` (`name_bucket{le=...}`), summed over other labels,
    /// sorted by upper bound (+Inf last). Empty when there is no such histogram.
    std::vector<std::pair<double, double>> buckets(std::string_view name) const;
};

struct exposition_error
{
    std::size_t line = 0;
    std::string message;
};

/// Parses a whole exposition; the first malformed line stops it.
std::optional<exposition_error> parse_exposition(std::string_view text, exposition& out);

/// The q-quantile (0 < q < 1) of cumulative buckets the way Prometheus's histogram_quantile does
/// (linear within the bucket; the +Inf bucket answers with the highest finite bound). nullopt with
/// no observations.
std::optional<double> histogram_quantile(double q, const std::vector<std::pair<double, double>>& cumulative);

/// Bucket-wise differences `later - earlier` (same bounds), for a quantile over an interval.
std::vector<std::pair<double, double>> bucket_delta(const std::vector<std::pair<double, double>>& later,
                                                    const std::vector<std::pair<double, double>>& earlier);

} // namespace beamline::metrics
