#pragma once
// `beamline_router nats pub|sub|request`: the project's NATS client as an operator tool, shaped like
// the official `nats` CLI.

#include <string>
#include <vector>

namespace beamline::app
{

/// `args` are the words after `nats`. Returns the exit code; failures print one line on stderr.
int run_nats_cli(const std::vector<std::string>& args);

} // namespace beamline::app
