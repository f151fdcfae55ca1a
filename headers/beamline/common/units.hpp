#pragma once
// Durations and sizes as people write them: one grammar for the configuration, CLI flags such as
// `--timeout 5s` and policy files (docs/policies.md, "Durations and sizes"). Bad input yields a
// message that says what was expected, never an exception.
//
//   duration = [blanks] digits [blanks] [unit] [blanks]      unit = ms | s | m | min | h | d
//   size     = [blanks] digits [blanks] [unit] [blanks]      unit = B | KiB | MiB | GiB | K | M | G
//                                                            (size units in any case)
//
// A bare number counts the unit the caller names (the `_ms` keys: milliseconds); where the caller
// names none, a unit is required. Fractions, signs and decimal size units (KB, MB) are refused.

#include "beamline/common/parsed.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace beamline::common
{

/// Parses a whole non-negative number ("0", "8388608"); signs, blanks and fractions are errors.
parsed<std::uint64_t> parse_whole_number(std::string_view text);

/// For parse_duration: a bare number is refused, the text must name its unit.
inline constexpr std::chrono::milliseconds unit_required{0};

/// Parses `500ms`, `5s`, `2m` (or `2min`), `1h`, `1d` or a bare number, which counts `bare_unit`s
/// (milliseconds unless told otherwise, so `--timeout 250` is 250 ms). Zero is a valid duration;
/// callers that need a positive one or a bound check the value.
parsed<std::chrono::milliseconds>
parse_duration(std::string_view text, std::chrono::milliseconds bare_unit = std::chrono::milliseconds{1});

/// Parses a byte count: a bare number, or a number followed by `B`, `KiB`, `MiB`, `GiB` (also
/// `K`, `M`, `G`, all powers of 1024). Decimal units (`KB`, `MB`) are refused rather than guessed.
parsed<std::uint64_t> parse_size(std::string_view text);

/// Renders milliseconds the way parse_duration reads them back, picking the largest exact unit
/// (`2s`, `2m`, `1500ms`).
std::string format_duration(std::chrono::milliseconds d);

/// Renders a byte count exactly, with the largest exact binary unit (`8MiB`, `1500`).
std::string format_size(std::uint64_t bytes);

} // namespace beamline::common
