#pragma once
// The steady-state reader as a pure state machine: bytes in the read buffer → the next thing the
// engine must do (read more, deliver a message, answer a PING, take a PONG, apply an INFO, report a
// server error that leaves the connection up, or end the connection). The engine performs each
// action and asks again; the machine never touches a socket, so every frame sequence, every split
// and every read error can be scripted in unit tests.
//
// Also here: the dispatcher's decisions for a delivered message (queue it, or drop it as a slow
// consumer and say so once per episode; stop routing after max_msgs).

#include "beamline/nats/protocol/parser.hpp"
#include "beamline/nats/protocol/server_info.hpp"
#include "beamline/nats/sansio/read_buffer.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace beamline::nats::sansio
{

struct reader_action
{
    enum kind : std::uint8_t
    {
        read,         ///< read more into the buffer: `needed` unread bytes at least (0: any)
        deliver,      ///< a MSG/HMSG: reader_fsm::frame(), valid until the next call
        send_pong,    ///< the server pinged us
        pong,         ///< the server answered one of our PINGs
        info,         ///< an asynchronous INFO: reader_fsm::info()
        report_error, ///< a -ERR the connection survives (permissions, ...): `ec`, `text`
        fail,         ///< the connection cannot continue: `ec`; the words in reader_fsm::error_text()
    };
    kind what = read;
    std::size_t needed = 0;
    std::error_code ec;
    std::string_view text;
};

class reader_fsm
{
public:
    /// The next action, the frame of the previous one consumed first.
    reader_action next(read_buffer& rb);
    /// After a `read` action: `n` bytes arrived in rb.prepare(...) unless `io_ec`.
    reader_action on_read(std::error_code io_ec, std::size_t n, read_buffer& rb);

    const protocol::frame& frame() const noexcept { return frame_; }
    const protocol::server_info& info() const noexcept { return info_; }
    /// After `fail`: what went wrong, in words; empty when it was the read itself (the engine has
    /// better words for the transport's errors).
    const std::string& error_text() const noexcept { return error_text_; }

private:
    reader_action fail(std::error_code ec, std::string text);

    protocol::frame frame_;
    protocol::server_info info_;
    std::size_t to_consume_ = 0;
    std::string error_text_;
};

/// What happens to a message for a subscription delivered through a queue.
enum class admission : std::uint8_t
{
    queue,           ///< within the pending limits
    drop_and_report, ///< over them: dropped, and this starts a slow-consumer episode (report it)
    drop,            ///< over them, in an episode already reported
};

/// Pending limits of one subscription and the episode flag it keeps between calls.
struct delivery_gate
{
    std::size_t limit_msgs = 0;
    std::size_t limit_bytes = 0;
    bool slow_reported = false;

    admission admit(std::size_t pending_msgs, std::size_t pending_bytes, std::size_t bytes) noexcept
    {
        if (pending_msgs >= limit_msgs || pending_bytes + bytes > limit_bytes)
        {
            if (slow_reported) return admission::drop;
            slow_reported = true;
            return admission::drop_and_report;
        }
        slow_reported = false;
        return admission::queue;
    }
};

/// After the `delivered`-th message, is the subscription done (auto-unsubscribe after max_msgs)?
constexpr bool reached_max_msgs(std::uint64_t delivered, std::uint64_t max_msgs) noexcept
{
    return max_msgs != 0 && delivered >= max_msgs;
}

} // namespace beamline::nats::sansio
