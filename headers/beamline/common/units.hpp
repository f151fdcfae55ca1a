#pragma once
// Human-friendly durations and sizes, shared by the configuration and by CLI flags such as
// `--timeout 5s`. Bad input yields a message that says what was expected, never an exception.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace beamline::app
{

/// Either a parsed value or a message such as `"5x" is not a duration (use 500ms, 5s, 2m or 1h)`.
template <class T>
struct parsed
{
    std::variant<T, std::string> outcome;

    bool ok() const noexcept { return outcome.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    const T& value() const { return std::get<0>(outcome); }
    const std::string& error() const { return std::get<1>(outcome); }
};

/// Parses a whole non-negative number ("0", "8388608"); signs, blanks and fractions are errors.
parsed<std::uint64_t> parse_whole_number(std::string_view text);

/// Parses `500ms`, `5s`, `2m`, `1h` or a bare number, which counts `bare_unit`s (milliseconds
/// unless told otherwise, so `--timeout 250` is 250 ms). Blanks around the text are ignored.
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

} // namespace beamline::app
