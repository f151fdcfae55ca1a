#include "beamline/common/json_writer.hpp"

#include <array>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cmath>
#include <cstring>

namespace beamline::common
{
namespace
{

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

/// Length of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are not one
/// (stray continuation, overlong form, surrogate, beyond U+10FFFF, truncated).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept
{
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    auto continuation = [&](std::size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
    unsigned char b0 = byte(i);
    if (b0 >= 0xC2 && b0 <= 0xDF) return continuation(i + 1) ? 2 : 0;
    if (b0 >= 0xE0 && b0 <= 0xEF)
    {
        if (!continuation(i + 1) || !continuation(i + 2)) return 0;
        unsigned char b1 = byte(i + 1);
        if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 >= 0xA0))
            return 0; // overlong, or a UTF-16 surrogate
        return 3;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4)
    {
        if (!continuation(i + 1) || !continuation(i + 2) || !continuation(i + 3)) return 0;
        unsigned char b1 = byte(i + 1);
        if ((b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 >= 0x90)) return 0; // overlong, or beyond U+10FFFF
        return 4;
    }
    return 0;
}

void append_escape(std::string& out, unsigned char c)
{
    switch (c)
    {
    case '"':
        out.append("\\\"");
        return;
    case '\\':
        out.append("\\\\");
        return;
    case '\b':
        out.append("\\b");
        return;
    case '\f':
        out.append("\\f");
        return;
    case '\n':
        out.append("\\n");
        return;
    case '\r':
        out.append("\\r");
        return;
    case '\t':
        out.append("\\t");
        return;
    default:
    {
        constexpr char hex[] = "0123456789abcdef";
        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
        out.append(u, sizeof u);
    }
    }
}

/// A byte copied as it is: printable ASCII other than the quote and the backslash.
constexpr bool plain_byte(unsigned char c) noexcept { return c >= 0x20 && c != '"' && c != '\\' && c < 0x7F; }

/// Whether any of the eight bytes in `w` is not a plain byte. Each test is the exact "some byte
/// is zero / below n" trick: a borrow can only mark a byte above one that truly matches.
constexpr bool any_not_plain(std::uint64_t w) noexcept
{
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    auto some_zero = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
    return (((w - ones * 0x20) & ~w & highs) | some_zero(w ^ (ones * '"')) | some_zero(w ^ (ones * '\\')) |
            some_zero(w ^ (ones * 0x7F)) | (w & highs)) != 0;
}

/// How many bytes from the start of `s` are plain: eight at a time, then one at a time.
std::size_t plain_prefix(std::string_view s) noexcept
{
    std::size_t i = 0;
    for (std::uint64_t w; i + 8 <= s.size(); i += 8)
    {
        std::memcpy(&w, s.data() + i, 8);
        if (any_not_plain(w)) break;
    }
    while (i < s.size() && plain_byte(static_cast<unsigned char>(s[i])))
        ++i;
    return i;
}

template <class Int>
void append_integer(std::string& out, Int v)
{
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

} // namespace

void append_json_string(std::string& out, std::string_view s)
{
    // Ids, names and most messages need no escape: one copy, found a word at a time.
    std::size_t i = plain_prefix(s);
    out.reserve(out.size() + s.size() + 2);
    out.push_back('"');
    std::size_t run_start = 0; // bytes that need no escaping are copied in one append per run
    while (i < s.size())
    {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (plain_byte(c))
        {
            ++i;
            continue;
        }
        if (c >= 0x80)
        {
            if (std::size_t n = utf8_sequence_length(s, i); n != 0)
            {
                i += n;
                continue;
            }
        }
        out.append(s.data() + run_start, i - run_start);
        if (c >= 0x80)
            out.append(replacement_character);
        else
            append_escape(out, c);
        run_start = ++i;
    }
    out.append(s.data() + run_start, s.size() - run_start);
    out.push_back('"');
}

void append_json_number(std::string& out, double v)
{
    if (!std::isfinite(v))
    {
        out.append("null");
        return;
    }
    constexpr double exact_integer_limit = 9007199254740992.0; // 2^53
    if (std::trunc(v) == v && std::fabs(v) <= exact_integer_limit)
    {
        append_integer(out, static_cast<std::int64_t>(v));
        return;
    }
    // The shortest round-trip form costs ~600 instructions, and the numbers a router writes with a
    // fraction are few and repeat (a policy's costs, reply after reply): each thread keeps the
    // last few it formatted.
    struct formatted
    {
        std::uint64_t bits = 0;
        std::uint8_t length = 0; ///< 0: empty slot (no finite non-integer formats to nothing)
        char text[32];
    };
    static constexpr std::size_t kept = 4;
    thread_local std::array<formatted, kept> recent{};
    thread_local std::size_t next_slot = 0;
    const auto bits = std::bit_cast<std::uint64_t>(v);
    for (const auto& f : recent)
        if (f.length != 0 && f.bits == bits)
        {
            out.append(f.text, f.length);
            return;
        }
    formatted& slot = recent[next_slot];
    next_slot = (next_slot + 1) % kept;
    auto r = std::to_chars(slot.text, slot.text + sizeof slot.text, v); // shortest round-trip form
    slot.bits = bits;
    slot.length = static_cast<std::uint8_t>(r.ptr - slot.text);
    out.append(slot.text, slot.length);
}

void append_json_integer(std::string& out, std::int64_t v)
{
    append_integer(out, v);
}

void append_json_integer(std::string& out, std::uint64_t v)
{
    append_integer(out, v);
}

} // namespace beamline::common
