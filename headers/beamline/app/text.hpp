#pragma once
// The text helpers live in common/; app code keeps calling them text::trim and so on.

#include "beamline/common/text.hpp"

namespace beamline::app
{
namespace text = common::text;
} // namespace beamline::app
