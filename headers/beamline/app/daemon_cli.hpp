#pragma once
// The lifecycle verbs: run, start, stop, restart, ping, status, and the policy helpers.

#include <string>
#include <vector>

namespace beamline::app
{

/// `verb` is run|start|stop|restart|ping|status|policy; `args` the words after it.
int run_daemon_verb(const std::string& verb, std::vector<std::string> args);

} // namespace beamline::app
