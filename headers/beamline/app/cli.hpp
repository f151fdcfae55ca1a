#pragma once

namespace beamline::app
{

/// Entry point of the `beamline_router` binary: dispatches to the verb named by argv[1].
/// Returns the process exit code.
int run_cli(int argc, char** argv);

} // namespace beamline::app
