#pragma once
// The CLI's admin verbs, `policy ...` and `backpressure ...`, over either transport the daemon
// serves them on: HTTP (`--via http`, the default; http.listen) or NATS (`--via nats`; the nats.*
// settings and the admin subjects). Both carry http.admin_token as `Authorization: Bearer`.

#include "beamline/app/config.hpp"

#include <string>
#include <vector>

namespace beamline::app
{

int policy_verb(const config& cfg, std::vector<std::string> args);
int backpressure_verb(const config& cfg, std::vector<std::string> args);
/// `breakers ls [--tenant T] | reset [TENANT [PROVIDER]]`, over HTTP.
int breakers_verb(const config& cfg, std::vector<std::string> args);

} // namespace beamline::app
