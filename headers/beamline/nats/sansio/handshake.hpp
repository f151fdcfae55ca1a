#pragma once
// The connect handshake as a pure state machine (the Boost.MySQL "next action" shape):
//   read INFO → [TLS handshake] → write CONNECT + PING → read until PONG.
// The engine performs each action and calls resume() with the outcome; the machine never touches a
// socket, so every step can be scripted and failed in unit tests.

#include "beamline/nats/protocol/encoder.hpp"
#include "beamline/nats/protocol/server_info.hpp"
#include "beamline/nats/sansio/read_buffer.hpp"

#include <string>
#include <string_view>
#include <system_error>

namespace beamline::nats::sansio
{

struct handshake_action
{
    enum kind
    {
        read,          ///< read more bytes into the read buffer
        write,         ///< write `bytes` completely
        tls_handshake, ///< upgrade the stream to TLS (client side)
        done,          ///< finished: `ec` empty on success
    };
    kind what = read;
    std::string_view bytes;
    std::error_code ec;
};

class handshake
{
public:
    /// `connect` is the CONNECT template; `tls_wanted` when the client requires TLS.
    handshake(protocol::connect_info connect, bool tls_wanted);

    handshake_action start();
    /// Called after the previous action finished with `io_ec`; frames are taken from `rb`, and bytes
    /// after the first PONG stay there for the steady-state reader.
    handshake_action resume(std::error_code io_ec, read_buffer& rb);

    const protocol::server_info& info() const noexcept { return info_; }
    bool tls_active() const noexcept { return tls_active_; }
    /// The server's text when it answered with -ERR.
    const std::string& server_error_text() const noexcept { return error_text_; }

private:
    enum class state
    {
        await_info,
        tls_handshake,
        write_connect,
        await_pong,
        finished,
    };

    handshake_action finish(std::error_code ec);
    handshake_action send_connect();
    handshake_action read_until_pong(read_buffer& rb);

    protocol::connect_info connect_;
    bool tls_wanted_;
    bool tls_active_ = false;
    state state_ = state::await_info;
    protocol::server_info info_;
    std::string out_;
    std::string error_text_;
};

} // namespace beamline::nats::sansio
