#pragma once
// The deployment checklist's report (`beamline_router report`), computed from what a running
// router and its nats-server expose: the router's /metrics and /v1/status, nats-server's /varz and
// /jsz, and perf/baseline.json. Pure: the verb fetches, this turns readings into figures and
// verdicts, so every rule is tested on fixed texts.
//
// Counters become rates over a window: between two readings taken `--since` apart, or, with one
// reading, over the router process's uptime (its counters start at zero).

#include "beamline/metrics/exposition_reader.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <vector>

namespace beamline::app
{

struct report_inputs
{
    metrics::exposition metrics;                ///< the (second) reading
    std::optional<metrics::exposition> earlier; ///< the first reading, with --since
    double interval_s = 0;                      ///< between the two readings
    double now_unix_s = 0;                      ///< when the (second) reading was taken
    boost::json::value status;                  ///< /v1/status, null when unavailable
    std::optional<boost::json::value> varz;     ///< nats-server /varz
    std::optional<boost::json::value> jsz;      ///< nats-server /jsz
    std::string nats_monitor_error;             ///< why varz/jsz are missing
    std::optional<boost::json::value> baseline; ///< perf/baseline.json
};

struct report_figure
{
    std::string key;   ///< stable name in the JSON (`rps`, `p99_ms`, ...)
    std::string label; ///< the checklist's words
    std::optional<double> value;
    std::string unit;
    std::optional<double> baseline;
    std::string note; ///< why there is no value, or where it came from
};

enum class verdict_result
{
    pass,
    fail,
    unknown, ///< the figure it needs is not available: said, never counted as a pass
};

struct report_verdict
{
    std::string criterion;
    verdict_result result = verdict_result::unknown;
    std::string detail;
};

struct deployment_report
{
    double window_s = 0;
    std::string window; ///< "interval" (two readings) or "uptime"
    std::vector<report_figure> figures;
    std::vector<std::pair<std::string, double>> top_errors; ///< code → requests in the window
    std::vector<report_verdict> verdicts;

    const report_figure* figure(std::string_view key) const noexcept;
    /// 0 when no verdict failed, 1 otherwise.
    int exit_code() const noexcept;
};

deployment_report build_report(const report_inputs& in);
std::string render_text(const deployment_report& r);
boost::json::object to_json(const deployment_report& r);

} // namespace beamline::app
