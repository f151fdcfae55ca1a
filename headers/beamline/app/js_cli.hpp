#pragma once
// `beamline_router js ...`: JetStream streams, consumers, publish and KV as an operator tool, in
// the shapes of the official `nats` CLI. The connection comes from the configuration (`nats.*`
// keys, --config, BEAMLINE_NATS_*) with --server/--tls-*/--user/--password/--token on top.

#include <string>
#include <vector>

namespace beamline::app
{

/// `args` are the words after `js`. Returns 0 on success, 1 when the operation failed (one line
/// on stderr, e.g. `js stream info: stream not found: T (err_code 10059)`), 2 on bad usage.
int run_js_cli(std::vector<std::string> args);

} // namespace beamline::app
