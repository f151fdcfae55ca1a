#pragma once
// What the fuzz targets share: a failed property is a crash libFuzzer records, with the reason on
// stderr (an abort, not an assert, so release builds check it too).

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace beamline::fuzz
{

[[noreturn]] inline void property_failed(std::string_view what)
{
    std::fprintf(stderr, "property failed: %.*s\n", static_cast<int>(what.size()), what.data());
    std::abort();
}

inline void check(bool holds, std::string_view what)
{
    if (!holds) property_failed(what);
}

} // namespace beamline::fuzz
