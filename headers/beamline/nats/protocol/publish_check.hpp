#pragma once
// What the server would refuse, checked before a frame is written: a server that meets a control
// line over its limit, a payload over max_payload or headers it does not support closes the
// connection (every other caller's messages with it), so the client refuses such a message itself
// and tells its caller why. Pure; the common case (short subjects) costs two comparisons.

#include "beamline/nats/protocol/headers.hpp"
#include "beamline/nats/protocol/parser.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace beamline::nats::protocol
{

/// The limits of the server we talk to (from its INFO; the control line is not announced, so it
/// is nats-server's default).
struct server_limits
{
    std::int64_t max_payload = 1024 * 1024;
    bool headers = true;
    std::size_t max_control_line = protocol::max_control_line;
};

/// The length of the PUB (no headers) or HPUB control line, CRLF included.
std::size_t pub_line_size(std::string_view subject, std::size_t reply_size, bool with_headers, std::size_t header_size,
                          std::size_t total_size) noexcept;
/// The length of the SUB control line, CRLF included.
std::size_t sub_line_size(std::string_view subject, std::string_view queue, std::uint64_t sid) noexcept;

/// Why a PUB/HPUB of `payload_size` bytes with `hdrs` to `subject` (reply-to `reply`) would be
/// refused, or no error: invalid_subject, control_line_exceeded, max_payload_exceeded,
/// headers_not_supported, invalid_header_key. `reply_size` is the reply's length when the reply
/// subject is not known yet (a request's inbox; `reply` is then empty).
std::error_code check_publish(std::string_view subject, std::string_view reply, const headers* hdrs,
                              std::size_t payload_size, const server_limits& limits, std::size_t reply_size = 0);

/// Why a SUB would be refused: invalid_subject (subject or queue), control_line_exceeded.
std::error_code check_subscribe(std::string_view subject, std::string_view queue, const server_limits& limits);

} // namespace beamline::nats::protocol
