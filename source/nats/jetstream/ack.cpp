#include "beamline/nats/jetstream/ack.hpp"

#include "beamline/nats/jetstream/error.hpp"

#include <array>
#include <charconv>

namespace beamline::nats::jetstream
{
namespace
{

constexpr std::string_view ack_prefix = "$JS.ACK.";

bool plain_decimal(std::string_view token, std::uint64_t& out) noexcept
{
    if (token.empty() || token.size() > 20) return false;
    for (char c : token)
        if (c < '0' || c > '9') return false;
    auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), out);
    return ec == std::errc() && end == token.data() + token.size();
}

} // namespace

std::error_code parse_ack_metadata(std::string_view reply, ack_metadata& out)
{
    const std::error_code bad = js_errc::invalid_ack_subject;
    if (!reply.starts_with(ack_prefix)) return bad;
    std::string_view rest = reply.substr(ack_prefix.size());
    // Up to 9 tokens after the prefix matter; v2 may carry more, which are ignored but must be
    // non-empty so that a subject with an empty token is never taken for a message's.
    std::array<std::string_view, 9> tokens{};
    std::size_t count = 0;
    while (true)
    {
        std::size_t dot = rest.find('.');
        std::string_view token = rest.substr(0, dot);
        if (token.empty()) return bad;
        for (char c : token)
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return bad;
        if (count < tokens.size()) tokens[count] = token;
        ++count;
        if (dot == std::string_view::npos) break;
        rest.remove_prefix(dot + 1);
    }
    // count is the number of tokens after "$JS.ACK": v1 has 7 (9 in all), v2 at least 9 (11 in all).
    std::size_t first = 0;
    ack_metadata m;
    if (count == 7)
        first = 0;
    else if (count >= 9)
    {
        first = 2;
        if (tokens[0] != "_") m.domain = tokens[0];
        m.account_hash = tokens[1];
    }
    else
        return bad;
    m.stream = tokens[first];
    m.consumer = tokens[first + 1];
    if (!plain_decimal(tokens[first + 2], m.delivered) || !plain_decimal(tokens[first + 3], m.stream_seq) ||
        !plain_decimal(tokens[first + 4], m.consumer_seq) || !plain_decimal(tokens[first + 5], m.timestamp_ns) ||
        !plain_decimal(tokens[first + 6], m.pending))
        return bad;
    out = std::move(m);
    return {};
}

std::string ack_body(ack_kind kind, std::chrono::nanoseconds nak_delay)
{
    switch (kind)
    {
    case ack_kind::ack: return "+ACK";
    case ack_kind::in_progress: return "+WPI";
    case ack_kind::term: return "+TERM";
    case ack_kind::nak:
        if (nak_delay.count() > 0) return "-NAK {\"delay\":" + std::to_string(nak_delay.count()) + "}";
        return "-NAK";
    }
    return "+ACK";
}

} // namespace beamline::nats::jetstream
