#pragma once
// Prometheus text exposition format 0.0.4: what `GET /metrics` serves and `promtool check metrics`
// accepts.

#include "beamline/metrics/registry.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace beamline::metrics
{

/// The Content-Type of the text format.
inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// Appends `value` the way Prometheus parses it: shortest round-trip decimal, `+Inf`, `-Inf`, `NaN`.
void append_number(std::string& out, double value);

/// Label values escape `\`, `"` and newline; HELP text escapes `\` and newline.
void append_escaped_label_value(std::string& out, std::string_view value);
void append_escaped_help(std::string& out, std::string_view help);

/// Renders families (as returned by registry::snapshot) in the text format: HELP and TYPE once per
/// family, histograms as cumulative `_bucket{le=...}` up to `+Inf`, then `_sum` and `_count`.
void write_text(std::string& out, const std::vector<family_snapshot>& families);

/// Snapshot and render in one step.
std::string render_text(const registry& reg);

} // namespace beamline::metrics
