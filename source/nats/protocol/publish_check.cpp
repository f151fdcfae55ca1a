#include "beamline/nats/protocol/publish_check.hpp"

#include "beamline/nats/error.hpp"
#include "beamline/nats/protocol/subject.hpp"

#include <limits>

namespace beamline::nats::protocol
{
namespace
{
std::size_t digits(std::uint64_t n) noexcept
{
    std::size_t d = 1;
    while (n >= 10)
    {
        n /= 10;
        ++d;
    }
    return d;
}

/// Room for the verb, separators, the largest size fields and CRLF: below this many bytes of
/// subject, reply and queue, no line can reach the limit and nothing needs counting.
constexpr std::size_t line_overhead = 5 + 3 + 2 * std::numeric_limits<std::uint64_t>::digits10 + 2 + 2;

/// A key with ':', a space or CR/LF would corrupt the header block (and could inject headers).
bool valid_header_keys(const headers& h) noexcept
{
    for (const auto& f : h.fields())
        if (!valid_header_key(f.first)) return false;
    return true;
}
} // namespace

std::size_t pub_line_size(std::string_view subject, std::size_t reply_size, bool with_headers, std::size_t header_size,
                          std::size_t total_size) noexcept
{
    std::size_t n = (with_headers ? 5 : 4) + subject.size() + 1; // "HPUB " / "PUB ", subject, ' '
    if (reply_size != 0) n += reply_size + 1;
    if (with_headers) n += digits(header_size) + 1;
    return n + digits(total_size) + 2;
}

std::size_t sub_line_size(std::string_view subject, std::string_view queue, std::uint64_t sid) noexcept
{
    std::size_t n = 4 + subject.size() + 1;
    if (!queue.empty()) n += queue.size() + 1;
    return n + digits(sid) + 2;
}

std::error_code check_publish(std::string_view subject, std::string_view reply, const headers* hdrs,
                              std::size_t payload_size, const server_limits& limits, std::size_t reply_size)
{
    if (!valid_publish_subject(subject)) return errc::invalid_subject;
    if (!reply.empty())
    {
        if (!valid_publish_subject(reply)) return errc::invalid_subject;
        reply_size = reply.size();
    }
    std::size_t hsize = hdrs ? hdrs->encoded_size() : 0;
    if (subject.size() + reply_size + line_overhead > limits.max_control_line &&
        pub_line_size(subject, reply_size, hdrs != nullptr, hsize, hsize + payload_size) > limits.max_control_line)
        return errc::control_line_exceeded;
    if (static_cast<std::int64_t>(hsize + payload_size) > limits.max_payload) return errc::max_payload_exceeded;
    if (hdrs && !limits.headers) return errc::headers_not_supported;
    if (hdrs && !valid_header_keys(*hdrs)) return errc::invalid_header_key;
    return {};
}

std::error_code check_subscribe(std::string_view subject, std::string_view queue, const server_limits& limits)
{
    if (!valid_subscribe_subject(subject)) return errc::invalid_subject;
    if (!queue.empty() && !valid_queue_name(queue)) return errc::invalid_subject;
    // The sid is not known yet: count the largest.
    if (subject.size() + queue.size() + line_overhead > limits.max_control_line &&
        sub_line_size(subject, queue, std::numeric_limits<std::uint64_t>::max()) > limits.max_control_line)
        return errc::control_line_exceeded;
    return {};
}

} // namespace beamline::nats::protocol
