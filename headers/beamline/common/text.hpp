#pragma once
// Small ASCII text helpers shared by the configuration, units, address and logging code.

#include <string>
#include <string_view>

namespace beamline::common::text
{

/// Without leading and trailing blanks (space, tab, carriage return).
constexpr std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

/// The value between double quotes, as error messages show it: "abc".
inline std::string in_quotes(std::string_view s)
{
    return "\"" + std::string(s) + "\"";
}

constexpr char to_lower(char c) noexcept
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
constexpr char to_upper(char c) noexcept
{
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

inline std::string to_upper(std::string_view s)
{
    std::string out(s);
    for (char& c : out)
        c = to_upper(c);
    return out;
}

inline std::string to_lower(std::string_view s)
{
    std::string out(s);
    for (char& c : out)
        c = to_lower(c);
    return out;
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (to_lower(a[i]) != to_lower(b[i])) return false;
    return true;
}

} // namespace beamline::common::text
