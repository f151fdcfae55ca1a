#include "beamline/nats/protocol/parser.hpp"

#include "beamline/nats/error.hpp"

#include <array>
#include <cstring>

namespace beamline::nats::protocol
{
namespace
{

constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != b[i]) return false;
    return true;
}

/// Splits a control line's arguments on runs of spaces and tabs.
std::size_t split_args(std::string_view line, std::array<std::string_view, 6>& args) noexcept
{
    std::size_t n = 0;
    std::size_t i = 0;
    while (i < line.size())
    {
        while (i < line.size() && is_space(line[i]))
            ++i;
        if (i == line.size()) break;
        std::size_t start = i;
        while (i < line.size() && !is_space(line[i]))
            ++i;
        if (n == args.size()) return n + 1; // too many
        args[n++] = line.substr(start, i - start);
    }
    return n;
}

bool parse_number(std::string_view s, std::uint64_t& out) noexcept
{
    if (s.empty() || s.size() > 19) return false;
    std::uint64_t v = 0;
    for (char c : s)
    {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    out = v;
    return true;
}

parse_result fail(errc e) noexcept { return {parse_status::error, 0, 0, make_error_code(e)}; }

/// A message body of `total` bytes follows the control line (ending at `body_start`) and is itself
/// terminated by CRLF.
parse_result take_body(std::string_view input, std::size_t body_start, std::uint64_t total, frame& out,
                       std::size_t header_size) noexcept
{
    std::size_t end = body_start + static_cast<std::size_t>(total);
    if (input.size() < end + 2) return {parse_status::need_more, 0, end + 2, {}};
    if (input[end] != '\r' || input[end + 1] != '\n') return fail(errc::protocol_error);
    std::string_view body = input.substr(body_start, static_cast<std::size_t>(total));
    out.headers = body.substr(0, header_size);
    out.payload = body.substr(header_size);
    return {parse_status::complete, end + 2, 0, {}};
}

} // namespace

parse_result parse_frame(std::string_view input, frame& out) noexcept
{
    if (input.empty()) return {parse_status::need_more, 0, 1, {}};

    // Reject a bad op as soon as its first byte arrives instead of waiting for a line end.
    switch (lower(input[0]))
    {
    case 'm': case 'h': case 'p': case 'i': case '+': case '-': break;
    default: return fail(errc::protocol_error);
    }

    std::size_t scan = input.size() < max_control_line + 2 ? input.size() : max_control_line + 2;
    const void* nl = std::memchr(input.data(), '\n', scan);
    if (!nl)
    {
        if (input.size() > max_control_line + 1) return fail(errc::control_line_too_long);
        return {parse_status::need_more, 0, 0, {}};
    }
    std::size_t nl_pos = static_cast<std::size_t>(static_cast<const char*>(nl) - input.data());
    std::size_t line_end = (nl_pos > 0 && input[nl_pos - 1] == '\r') ? nl_pos - 1 : nl_pos;
    if (line_end > max_control_line) return fail(errc::control_line_too_long);
    std::string_view line = input.substr(0, line_end);
    std::size_t after_line = nl_pos + 1;

    std::size_t op_end = 0;
    while (op_end < line.size() && !is_space(line[op_end]))
        ++op_end;
    std::string_view op = line.substr(0, op_end);
    std::string_view rest = line.substr(op_end);

    out = frame{};
    if (iequals(op, "msg"))
    {
        std::array<std::string_view, 6> a;
        std::size_t n = split_args(rest, a);
        std::uint64_t size = 0;
        out.kind = frame_kind::msg;
        if (n == 3 || n == 4)
        {
            out.subject = a[0];
            if (!parse_number(a[1], out.sid)) return fail(errc::invalid_arguments);
            if (n == 4) out.reply = a[2];
            if (!parse_number(a[n - 1], size)) return fail(errc::invalid_arguments);
        }
        else
        {
            return fail(errc::invalid_arguments);
        }
        if (size > max_message_size) return fail(errc::invalid_arguments);
        return take_body(input, after_line, size, out, 0);
    }
    if (iequals(op, "hmsg"))
    {
        std::array<std::string_view, 6> a;
        std::size_t n = split_args(rest, a);
        std::uint64_t hsize = 0, total = 0;
        out.kind = frame_kind::hmsg;
        if (n != 4 && n != 5) return fail(errc::invalid_arguments);
        out.subject = a[0];
        if (!parse_number(a[1], out.sid)) return fail(errc::invalid_arguments);
        if (n == 5) out.reply = a[2];
        if (!parse_number(a[n - 2], hsize) || !parse_number(a[n - 1], total)) return fail(errc::invalid_arguments);
        if (hsize > total || total > max_message_size) return fail(errc::invalid_arguments);
        return take_body(input, after_line, total, out, static_cast<std::size_t>(hsize));
    }
    if (iequals(op, "ping") || iequals(op, "pong"))
    {
        // Anything between the op and the line end is tolerated, as the reference clients do.
        out.kind = lower(op[1]) == 'i' ? frame_kind::ping : frame_kind::pong;
        return {parse_status::complete, after_line, 0, {}};
    }
    if (iequals(op, "info"))
    {
        std::size_t i = 0;
        while (i < rest.size() && is_space(rest[i]))
            ++i;
        out.kind = frame_kind::info;
        out.text = rest.substr(i);
        if (out.text.empty()) return fail(errc::invalid_info);
        return {parse_status::complete, after_line, 0, {}};
    }
    if (iequals(op, "+ok"))
    {
        out.kind = frame_kind::ok;
        return {parse_status::complete, after_line, 0, {}};
    }
    if (iequals(op, "-err"))
    {
        std::string_view t = rest;
        while (!t.empty() && is_space(t.front()))
            t.remove_prefix(1);
        while (!t.empty() && is_space(t.back()))
            t.remove_suffix(1);
        if (t.size() >= 2 && t.front() == '\'' && t.back() == '\'') t = t.substr(1, t.size() - 2);
        out.kind = frame_kind::err;
        out.text = t;
        return {parse_status::complete, after_line, 0, {}};
    }
    return fail(errc::protocol_error);
}

} // namespace beamline::nats::protocol
