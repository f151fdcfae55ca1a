#include "beamline/http/message.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace beamline::http
{
namespace
{

int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// Length of the well-formed UTF-8 sequence at the front of `s` (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF), or 0 when it is not one.
std::size_t utf8_sequence_length(std::string_view s) noexcept
{
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const auto continuation = [&](std::size_t i) { return i < s.size() && (byte(i) & 0xC0) == 0x80; };
    const unsigned char lead = byte(0);
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
    if (lead >= 0xE0 && lead <= 0xEF)
    {
        if (!continuation(1) || !continuation(2)) return 0;
        if (lead == 0xE0 && byte(1) < 0xA0) return 0; // overlong
        if (lead == 0xED && byte(1) > 0x9F) return 0; // surrogate
        return 3;
    }
    if (lead >= 0xF0 && lead <= 0xF4)
    {
        if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
        if (lead == 0xF0 && byte(1) < 0x90) return 0; // overlong
        if (lead == 0xF4 && byte(1) > 0x8F) return 0; // above U+10FFFF
        return 4;
    }
    return 0;
}

/// `text` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD: error messages
/// quote what the client sent (a path, say), and a JSON body must be valid UTF-8 whatever it was.
std::string valid_utf8(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    while (!text.empty())
    {
        const auto n = utf8_sequence_length(text);
        if (n == 0)
        {
            out += "\xEF\xBF\xBD";
            text.remove_prefix(1);
            continue;
        }
        out.append(text.substr(0, n));
        text.remove_prefix(n);
    }
    return out;
}

} // namespace

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space)
{
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i)
    {
        const char c = in[i];
        if (c == '%')
        {
            if (i + 2 >= in.size()) return std::nullopt;
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        else if (c == '+' && plus_is_space)
            out += ' ';
        else
            out += c;
    }
    return out;
}

std::string_view request::param(std::string_view name) const
{
    for (const auto& [key, value] : params)
        if (key == name) return value;
    return {};
}

std::string_view request::header(std::string_view name) const
{
    if (!headers) return {};
    const auto it = headers->find(name);
    return it == headers->end() ? std::string_view{} : std::string_view(it->value());
}

std::optional<std::string> request::query_param(std::string_view name) const
{
    std::string_view rest = query;
    while (!rest.empty())
    {
        const auto amp = rest.find('&');
        const auto pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        const auto eq = pair.find('=');
        const auto key = percent_decode(pair.substr(0, eq), true);
        if (!key || *key != name) continue;
        return eq == std::string_view::npos ? std::optional<std::string>(std::string())
                                            : percent_decode(pair.substr(eq + 1), true);
    }
    return std::nullopt;
}

response json_response(http::status code, std::string body)
{
    return response{code, "application/json", std::move(body), {}};
}

response text_response(http::status code, std::string body, std::string content_type)
{
    return response{code, std::move(content_type), std::move(body), {}};
}

response error_response(http::status code, std::string_view error_code, std::string_view message)
{
    boost::json::value body = {{"error", {{"code", error_code}, {"message", valid_utf8(message)}}}};
    return json_response(code, boost::json::serialize(body));
}

std::string_view default_error_code(http::status code) noexcept
{
    switch (code)
    {
    case status::bad_request:
        return "bad_request";
    case status::unauthorized:
        return "unauthorized";
    case status::forbidden:
        return "forbidden";
    case status::not_found:
        return "not_found";
    case status::method_not_allowed:
        return "method_not_allowed";
    case status::request_timeout:
        return "request_timeout";
    case status::payload_too_large:
        return "payload_too_large";
    case status::request_header_fields_too_large:
        return "header_too_large";
    case status::service_unavailable:
        return "unavailable";
    default:
        return "internal_error";
    }
}

} // namespace beamline::http
