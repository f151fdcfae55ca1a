#pragma once
// `beamline_router report [--since DURATION] [--json] [--baseline FILE] [--nats-monitor URL]`:
// the deployment checklist's figures and first-week verdicts, read from the running router and its
// nats-server (see deployment_report.hpp for the rules).

#include "beamline/app/config.hpp"

#include <string>
#include <vector>

namespace beamline::app
{

/// Exit: 0 every known verdict passes, 1 a verdict failed, 2 bad arguments, 3 the router did not
/// answer.
int run_report(const config& cfg, const std::vector<std::string>& args);

} // namespace beamline::app
