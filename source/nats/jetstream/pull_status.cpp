#include "beamline/nats/jetstream/pull_status.hpp"

#include "beamline/nats/error.hpp"
#include "beamline/nats/jetstream/error.hpp"

#include <charconv>

namespace beamline::nats::jetstream
{
namespace
{

bool iequals_prefix(std::string_view text, std::string_view prefix) noexcept
{
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
    {
        char a = text[i], b = prefix[i];
        if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
        if (a != b) return false;
    }
    return true;
}

std::uint64_t number_or_zero(std::optional<std::string_view> v) noexcept
{
    std::uint64_t n = 0;
    if (v) std::from_chars(v->data(), v->data() + v->size(), n);
    return n;
}

/// The description of a status line: what follows `NATS/1.0 <code> `.
std::string_view status_description(std::string_view block) noexcept
{
    std::size_t eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    std::size_t first = line.find(' ');
    if (first == std::string_view::npos) return {};
    std::size_t second = line.find(' ', first + 1);
    if (second == std::string_view::npos) return {};
    return line.substr(second + 1);
}

} // namespace

status_info classify_status(int status, std::string_view d) noexcept
{
    status_info s;
    auto set = [&](pull_status k, status_severity v) {
        s.kind = k;
        s.severity = v;
        return s;
    };
    switch (status)
    {
    case 0: return s;
    case 100: return set(pull_status::idle_heartbeat, status_severity::none);
    case 404: return set(pull_status::no_messages, status_severity::silent);
    case 408: return set(pull_status::request_timeout, status_severity::silent);
    case 400: return set(pull_status::bad_request, status_severity::terminal);
    case 503: return set(pull_status::no_responders, status_severity::warning);
    case 409:
        if (iequals_prefix(d, "Consumer Deleted")) return set(pull_status::consumer_deleted, status_severity::terminal);
        if (iequals_prefix(d, "Consumer is push based")) return set(pull_status::push_based, status_severity::terminal);
        if (iequals_prefix(d, "Message Size Exceeds MaxBytes"))
            return set(pull_status::max_bytes_exceeded, status_severity::silent);
        if (iequals_prefix(d, "Leadership Change")) return set(pull_status::leadership_change, status_severity::silent);
        if (iequals_prefix(d, "Exceeded Max")) return set(pull_status::limit_exceeded, status_severity::warning);
        return set(pull_status::unknown, status_severity::warning);
    default: return set(pull_status::unknown, status_severity::warning);
    }
}

status_info classify(const message_view& m) noexcept
{
    if (m.header_block.empty()) return {};
    int status = m.status();
    if (status == 0) return {};
    status_info s = classify_status(status, status_description(m.header_block));
    s.pending_messages = number_or_zero(m.header("Nats-Pending-Messages"));
    s.pending_bytes = number_or_zero(m.header("Nats-Pending-Bytes"));
    return s;
}

std::error_code status_error(const status_info& s) noexcept
{
    switch (s.kind)
    {
    case pull_status::consumer_deleted: return js_errc::consumer_deleted;
    case pull_status::push_based: return js_errc::consumer_is_push_based;
    case pull_status::bad_request: return js_errc::bad_request;
    case pull_status::no_responders: return js_errc::not_enabled;
    case pull_status::limit_exceeded: return js_errc::pull_refused;
    case pull_status::unknown: return js_errc::unexpected_status;
    case pull_status::no_messages: return js_errc::no_messages;
    case pull_status::request_timeout: return nats::errc::timeout;
    default: return {};
    }
}

} // namespace beamline::nats::jetstream
