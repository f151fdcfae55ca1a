#pragma once
// The app layer's names for durations and sizes. The grammar lives once, in common/units
// (documented in docs/policies.md, "Durations and sizes"); this header only brings it into the
// app namespace for the CLI verbs.

#include "beamline/common/units.hpp"

namespace beamline::app
{

using common::format_duration;
using common::format_size;
using common::parse_duration;
using common::parse_size;
using common::parse_whole_number;
using common::parsed;

} // namespace beamline::app
