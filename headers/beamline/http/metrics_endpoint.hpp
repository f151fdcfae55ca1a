#pragma once
// Serves a metrics registry as `GET /metrics`, so everything the router counts actually reaches the
// scrape (the predecessor kept most of its counters in places its endpoint never read).

#include "beamline/http/route_table.hpp"
#include "beamline/metrics/registry.hpp"

namespace beamline::http
{

/// A handler answering with `reg` in the Prometheus text format 0.0.4. `reg` must outlive it.
sync_handler metrics_handler(const metrics::registry& reg);

} // namespace beamline::http
