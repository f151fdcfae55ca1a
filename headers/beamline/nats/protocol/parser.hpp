#pragma once
// Incremental parser for what a NATS server sends: INFO, MSG, HMSG, PING, PONG, +OK, -ERR.
//
// Pure: no I/O, no allocation. The caller keeps its unread bytes in one buffer and asks for the frame
// at its front; the frame's views point into that buffer. An incomplete frame consumes nothing, so
// input may be split at any byte: append what arrives next and ask again.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace beamline::nats::protocol
{

/// The longest control line accepted (the server's MAX_CONTROL_LINE_SIZE).
inline constexpr std::size_t max_control_line = 4096;
/// The largest MSG/HMSG body accepted: the highest max_payload a server can be configured with.
/// A larger size can only come from a broken or hostile server, and would make the reader try to
/// buffer it.
inline constexpr std::uint64_t max_message_size = 64 * 1024 * 1024;

enum class frame_kind
{
    info,
    msg,
    hmsg,
    ping,
    pong,
    ok,
    err,
};

struct frame
{
    frame_kind kind = frame_kind::ping;
    std::string_view subject; ///< MSG/HMSG
    std::string_view reply;   ///< MSG/HMSG, empty when absent
    std::uint64_t sid = 0;    ///< MSG/HMSG
    std::string_view headers; ///< HMSG: the whole block, `NATS/1.0...\r\n` through the blank line
    std::string_view payload; ///< MSG/HMSG
    std::string_view text;    ///< INFO: the JSON; -ERR: the message without quotes
};

enum class parse_status
{
    complete,  ///< `out` holds a frame; `consumed` bytes belong to it
    need_more, ///< nothing consumed; `needed` is the least total size to ask for again (0: unknown)
    error,     ///< `ec` says why; the connection cannot continue
};

struct parse_result
{
    parse_status status = parse_status::need_more;
    std::size_t consumed = 0;
    std::size_t needed = 0;
    std::error_code ec;
};

/// Parses the frame at the front of `input`.
parse_result parse_frame(std::string_view input, frame& out) noexcept;

} // namespace beamline::nats::protocol
