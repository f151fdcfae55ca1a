#include "beamline/common/subject.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

namespace beamline::common
{
namespace
{

constexpr bool forbidden(char c) noexcept
{
    auto u = static_cast<unsigned char>(c);
    return u <= 32 || u == 127;
}

enum char_class : unsigned char
{
    plain = 0,
    dot,
    wildcard, ///< '*' or '>'
    bad,      ///< control characters, space, DEL
};

constexpr std::array<unsigned char, 256> make_classes()
{
    std::array<unsigned char, 256> t{};
    for (int c = 0; c < 256; ++c)
        t[static_cast<std::size_t>(c)] = forbidden(static_cast<char>(c)) ? bad : plain;
    t['.'] = dot;
    t['*'] = wildcard;
    t['>'] = wildcard;
    return t;
}

constexpr std::array<unsigned char, 256> classes = make_classes();

/// One pass with a table lookup per character and no token copies. Tokens are separated by '.',
/// none empty; '*' and '>' are allowed only when `wildcards`, and then only as a whole token
/// (">" only the last).
bool valid_subject_bytewise(std::string_view s, bool wildcards) noexcept
{
    const std::size_t n = s.size();
    if (n == 0) return false;
    std::size_t token_start = 0;
    for (std::size_t i = 0; i < n; ++i)
    {
        unsigned char cls = classes[static_cast<unsigned char>(s[i])];
        if (cls == plain) continue;
        if (cls == dot)
        {
            if (i == token_start) return false;
            token_start = i + 1;
            continue;
        }
        if (cls == bad || !wildcards) return false;
        bool whole_token = i == token_start && (i + 1 == n || s[i + 1] == '.');
        if (!whole_token || (s[i] == '>' && i + 1 != n)) return false;
    }
    return token_start != n; // not ending in '.'
}

// Eight characters at a time (publish validates every message's subject, so this is on the hot
// path). Each mask below has bit 7 of a byte set exactly where that byte matches.
constexpr std::uint64_t ones = 0x0101010101010101ULL;
constexpr std::uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
constexpr std::uint64_t high = 0x8080808080808080ULL;

constexpr std::uint64_t zero_bytes(std::uint64_t v) noexcept
{
    return ~(((v & low7) + low7) | v | low7);
}
constexpr std::uint64_t bytes_equal(std::uint64_t v, unsigned char c) noexcept
{
    return zero_bytes(v ^ (ones * c));
}
/// Bytes below 0x21 (control characters and space); bytes of 0x80 and up are not.
constexpr std::uint64_t bytes_below_0x21(std::uint64_t v) noexcept
{
    return ~(((v & low7) + ones * (0x80 - 0x21)) | v) & high;
}

bool valid_subject(std::string_view s, bool wildcards) noexcept
{
    const std::size_t n = s.size();
    if (n < 8) return valid_subject_bytewise(s, wildcards);
    if (s.front() == '.' || s.back() == '.') return false;
    // Whole words only (a partial copy would stall the load that follows it): the last word
    // overlaps the one before when the length is not a multiple of 8, and re-reading is harmless.
    for (std::size_t i = 0;; i += 8)
    {
        if (i + 8 > n) i = n - 8;
        std::uint64_t v;
        std::memcpy(&v, s.data() + i, 8);
        if ((bytes_below_0x21(v) | bytes_equal(v, 0x7f)) != 0) return false;
        // A published subject has no wildcard character at all; in a subscription they are rare
        // enough that the byte loop sorts them out.
        if ((bytes_equal(v, '*') | bytes_equal(v, '>')) != 0)
            return wildcards && valid_subject_bytewise(s, wildcards);
        std::uint64_t dots = bytes_equal(v, '.');
        // An empty token is two dots in a row, within these eight bytes or across the boundary.
        if ((dots & (dots >> 8)) != 0) return false;
        if ((dots & 0x80) != 0 && i > 0 && s[i - 1] == '.') return false;
        if (i + 8 == n) return true;
    }
}

} // namespace

bool valid_publish_subject(std::string_view subject) noexcept { return valid_subject(subject, false); }
bool valid_subscribe_subject(std::string_view subject) noexcept { return valid_subject(subject, true); }

bool valid_token(std::string_view token) noexcept
{
    if (token.empty()) return false;
    for (char c : token)
        if (classes[static_cast<unsigned char>(c)] != plain) return false;
    return true;
}

} // namespace beamline::common
