#pragma once

#include <string_view>

namespace beamline::app
{
inline constexpr std::string_view beamline_version = "0.1.0";
}
