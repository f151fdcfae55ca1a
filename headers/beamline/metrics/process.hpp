#pragma once
// The standard `process_*` metrics every Prometheus client exports, read from /proc/self, and the
// `router_build_info` series.

#include "beamline/metrics/registry.hpp"

#include <optional>
#include <string_view>
#include <vector>

namespace beamline::metrics
{

/// One reading of the process figures. Fields stay unset when the system does not expose them.
struct process_sample
{
    std::optional<double> cpu_seconds; ///< user + system time
    std::optional<double> resident_bytes;
    std::optional<double> virtual_bytes;
    std::optional<double> open_fds;
    std::optional<double> max_fds;            ///< soft RLIMIT_NOFILE
    std::optional<double> start_time_seconds; ///< since the Unix epoch
};

/// Reads /proc/self/stat, /proc/self/fd, /proc/stat and RLIMIT_NOFILE.
process_sample read_process_sample();

/// Registers process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
/// process_open_fds, process_max_fds (sampled at scrape time) and process_start_time_seconds. Keep
/// the returned registrations as long as the metrics should be exported.
std::vector<callback_registration> register_process_metrics(registry& reg);

/// `router_build_info{version="...",<extra>} 1`.
void register_build_info(registry& reg, std::string_view version, label_set extra = {});

} // namespace beamline::metrics
