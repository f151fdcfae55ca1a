#pragma once
// `beamline_router policy import DIR`: seeds KV bucket `beamline_policies` (router.state=jetstream)
// from a policies directory laid out as router.policies_dir is (`DIR/<tenant>/<policy>.json`).
// Connects to NATS with the configuration's nats.* keys; every valid file is stored (key
// `<tenant>.<policy>`), every invalid one is named and left out. Exit 0 when all were stored, 1
// when any was left out or could not be stored.

#include "beamline/app/config.hpp"

#include <string>

namespace beamline::app
{

int policy_import(const config& cfg, const std::string& directory);

} // namespace beamline::app
