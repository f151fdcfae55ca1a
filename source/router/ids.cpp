#include "beamline/router/ids.hpp"

#include <algorithm>

namespace beamline::router
{
namespace
{

constexpr char hex_digits[] = "0123456789abcdef";

void append_hex(std::string& out, std::uint64_t v, int digits)
{
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4)
        out.push_back(hex_digits[(v >> shift) & 0xF]);
}

constexpr bool is_hex(char c) noexcept
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

constexpr bool is_lower_hex(char c) noexcept
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool all_lower_hex_not_zero(std::string_view s) noexcept
{
    return std::all_of(s.begin(), s.end(), is_lower_hex) &&
           std::any_of(s.begin(), s.end(), [](char c) { return c != '0'; });
}

std::uint64_t non_zero(random_ref rng)
{
    for (;;)
        if (std::uint64_t v = rng(); v != 0) return v;
}

} // namespace

void append_uuid_v4(std::string& out, std::uint64_t hi, std::uint64_t lo)
{
    hi = (hi & ~std::uint64_t{0xF000}) | 0x4000;                        // version 4
    lo = (lo & ~(std::uint64_t{0xC} << 60)) | (std::uint64_t{8} << 60); // variant 10xx
    out.reserve(out.size() + 36);
    append_hex(out, hi >> 32, 8);
    out.push_back('-');
    append_hex(out, (hi >> 16) & 0xFFFF, 4);
    out.push_back('-');
    append_hex(out, hi & 0xFFFF, 4);
    out.push_back('-');
    append_hex(out, lo >> 48, 4);
    out.push_back('-');
    append_hex(out, lo & 0xFFFF'FFFF'FFFF, 12);
}

std::string make_uuid_v4(random_ref rng)
{
    std::string out;
    std::uint64_t hi = rng();
    append_uuid_v4(out, hi, rng());
    return out;
}

std::string make_span_id(random_ref rng)
{
    std::string out;
    out.reserve(16);
    append_hex(out, non_zero(rng), 16);
    return out;
}

std::string make_trace_id(random_ref rng)
{
    std::string out;
    out.reserve(32);
    append_hex(out, rng(), 16);
    append_hex(out, non_zero(rng), 16); // a non-zero low half keeps the id from being all zeros
    return out;
}

bool is_uuid(std::string_view s) noexcept
{
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i)
    {
        bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash_position ? s[i] != '-' : !is_hex(s[i])) return false;
    }
    return true;
}

bool is_ulid(std::string_view s) noexcept
{
    if (s.size() != 26 || s[0] < '0' || s[0] > '7') return false;
    return std::all_of(s.begin(), s.end(),
                       [](char c)
                       {
                           if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
                           return (c >= '0' && c <= '9') ||
                                  (c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U');
                       });
}

bool is_trace_id(std::string_view s) noexcept
{
    // A lambda, not the function itself: through a function pointer GCC calls is_hex per character.
    bool hex32 = s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) { return is_hex(c); });
    if (!hex32 && !is_uuid(s)) return false;
    return std::any_of(s.begin(), s.end(), [](char c) { return c != '0' && c != '-'; });
}

std::string to_w3c_trace_id(std::string_view s)
{
    std::string out;
    out.reserve(32);
    for (char c : s)
    {
        if (c == '-') continue;
        out.push_back(c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c);
    }
    return out;
}

bool is_tenant_or_policy_id(std::string_view s) noexcept
{
    return !s.empty() && s.size() <= 64 &&
           std::all_of(s.begin(), s.end(),
                       [](char c)
                       {
                           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
                       });
}

std::optional<traceparent> parse_traceparent(std::string_view s) noexcept
{
    // version(2) "-" trace-id(32) "-" parent-id(16) "-" flags(2)
    constexpr std::size_t base_size = 55;
    if (s.size() < base_size || s[2] != '-' || s[35] != '-' || s[52] != '-') return std::nullopt;
    traceparent tp{s.substr(0, 2), s.substr(3, 32), s.substr(36, 16), s.substr(53, 2)};
    if (!std::all_of(tp.version.begin(), tp.version.end(), is_lower_hex) || tp.version == "ff")
        return std::nullopt;
    // Version 00 has exactly four fields; a later version may append more after a dash.
    if (tp.version == "00" ? s.size() != base_size : (s.size() > base_size && s[base_size] != '-'))
        return std::nullopt;
    if (!all_lower_hex_not_zero(tp.trace_id) || !all_lower_hex_not_zero(tp.parent_id) ||
        !std::all_of(tp.flags.begin(), tp.flags.end(), is_lower_hex))
        return std::nullopt;
    return tp;
}

std::string format_traceparent(std::string_view trace_id32, std::string_view span_id16)
{
    std::string out;
    out.reserve(55);
    out.append("00-").append(trace_id32).append("-").append(span_id16).append("-01");
    return out;
}

} // namespace beamline::router
