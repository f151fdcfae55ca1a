#include "beamline/common/units.hpp"

#include "beamline/common/text.hpp"

#include <array>
#include <charconv>
#include <limits>

namespace beamline::common
{
namespace
{

using text::iequals;
using text::in_quotes;
using text::trim;

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

struct number_and_unit
{
    std::uint64_t number = 0;
    std::string_view unit;
};

// Splits "  8 MiB " into 8 and "MiB"; the caller words the error for its own kind of value.
parsed<number_and_unit> split_number(std::string_view original, std::string_view kind)
{
    std::string_view text = trim(original);
    std::size_t digits = 0;
    while (digits < text.size() && is_digit(text[digits]))
        ++digits;
    if (digits == 0) return {in_quotes(original) + " is not " + std::string(kind)};
    number_and_unit out;
    auto [end, ec] = std::from_chars(text.data(), text.data() + digits, out.number);
    if (ec == std::errc::result_out_of_range) return {in_quotes(original) + " is too large"};
    (void)end;
    out.unit = trim(text.substr(digits));
    return {out};
}

} // namespace

parsed<std::uint64_t> parse_whole_number(std::string_view text)
{
    auto split = split_number(text, "a whole number");
    if (!split) return {split.error()};
    if (!split.value().unit.empty()) return {in_quotes(text) + " is not a whole number"};
    return {split.value().number};
}

parsed<std::chrono::milliseconds> parse_duration(std::string_view text, std::chrono::milliseconds bare_unit)
{
    const std::string what = "a duration (use 500ms, 5s, 2m, 1h or 1d)";
    auto split = split_number(text, what);
    if (!split) return {split.error()};
    const auto [number, unit] = split.value();
    std::int64_t scale = 0;
    if (unit.empty() && bare_unit == unit_required)
        return {in_quotes(text) + " needs a unit (use 500ms, 5s, 2m, 1h or 1d)"};
    if (unit.empty())
        scale = bare_unit.count();
    else if (unit == "ms")
        scale = 1;
    else if (unit == "s")
        scale = 1000;
    else if (unit == "m" || unit == "min")
        scale = 60'000;
    else if (unit == "h")
        scale = 3'600'000;
    else if (unit == "d")
        scale = 86'400'000;
    else
        return {in_quotes(text) + " is not " + what};
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (number > max / static_cast<std::uint64_t>(scale)) return {in_quotes(text) + " is too large"};
    return {std::chrono::milliseconds{static_cast<std::int64_t>(number) * scale}};
}

parsed<std::uint64_t> parse_size(std::string_view text)
{
    const std::string what = "a size (use a byte count, or KiB, MiB, GiB)";
    auto split = split_number(text, what);
    if (!split) return {split.error()};
    const auto [number, unit] = split.value();
    unsigned shift = 0;
    if (unit.empty() || iequals(unit, "b"))
        shift = 0;
    else if (iequals(unit, "kib") || iequals(unit, "k"))
        shift = 10;
    else if (iequals(unit, "mib") || iequals(unit, "m"))
        shift = 20;
    else if (iequals(unit, "gib") || iequals(unit, "g"))
        shift = 30;
    else if (iequals(unit, "kb") || iequals(unit, "mb") || iequals(unit, "gb"))
        return {in_quotes(text) + " is ambiguous: write KiB, MiB or GiB (powers of 1024) or a byte count"};
    else
        return {in_quotes(text) + " is not " + what};
    if (shift != 0 && number > (std::numeric_limits<std::uint64_t>::max() >> shift))
        return {in_quotes(text) + " is too large"};
    return {number << shift};
}

std::string format_duration(std::chrono::milliseconds d)
{
    const auto ms = d.count();
    if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

std::string format_size(std::uint64_t bytes)
{
    static constexpr std::array<std::pair<unsigned, const char*>, 3> units{
        {{30, "GiB"}, {20, "MiB"}, {10, "KiB"}}};
    for (const auto& [shift, name] : units)
    {
        const std::uint64_t unit = std::uint64_t{1} << shift;
        if (bytes != 0 && bytes % unit == 0) return std::to_string(bytes / unit) + name;
    }
    return std::to_string(bytes);
}

} // namespace beamline::common
