#include "beamline/nats/sansio/handshake.hpp"

#include "beamline/nats/error.hpp"
#include "beamline/nats/protocol/parser.hpp"

namespace beamline::nats::sansio
{

handshake::handshake(protocol::connect_info connect, bool tls_wanted)
    : connect_(std::move(connect)), tls_wanted_(tls_wanted)
{
}

handshake_action handshake::start()
{
    state_ = state::await_info;
    return {handshake_action::read, {}, {}};
}

handshake_action handshake::finish(std::error_code ec)
{
    state_ = state::finished;
    return {handshake_action::done, {}, ec};
}

handshake_action handshake::send_connect()
{
    connect_.tls_required = tls_active_;
    connect_.headers = info_.headers; // the encoder drops no_responders without headers
    out_.clear();
    protocol::encode_connect(out_, connect_);
    protocol::encode_ping(out_);
    state_ = state::write_connect;
    return {handshake_action::write, out_, {}};
}

handshake_action handshake::read_until_pong(read_buffer& rb)
{
    for (;;)
    {
        protocol::frame f;
        auto r = protocol::parse_frame(rb.data(), f);
        if (r.status == protocol::parse_status::need_more) return {handshake_action::read, {}, {}};
        if (r.status == protocol::parse_status::error) return finish(r.ec);
        switch (f.kind)
        {
        case protocol::frame_kind::pong: rb.consume(r.consumed); return finish({});
        case protocol::frame_kind::ok:
        case protocol::frame_kind::ping: // the server does not ping before our PONG; tolerated, not answered
            break;
        case protocol::frame_kind::info:
            if (auto ec = protocol::parse_server_info(f.text, info_)) return finish(ec);
            break;
        case protocol::frame_kind::err:
            error_text_ = std::string(f.text);
            return finish(classify_server_error(f.text));
        default: return finish(errc::protocol_error);
        }
        rb.consume(r.consumed);
    }
}

handshake_action handshake::resume(std::error_code io_ec, read_buffer& rb)
{
    if (io_ec) return finish(io_ec);
    switch (state_)
    {
    case state::await_info:
    {
        protocol::frame f;
        auto r = protocol::parse_frame(rb.data(), f);
        if (r.status == protocol::parse_status::need_more) return {handshake_action::read, {}, {}};
        if (r.status == protocol::parse_status::error) return finish(r.ec);
        if (f.kind == protocol::frame_kind::err)
        {
            error_text_ = std::string(f.text);
            return finish(classify_server_error(f.text));
        }
        if (f.kind != protocol::frame_kind::info) return finish(errc::protocol_error);
        if (auto ec = protocol::parse_server_info(f.text, info_)) return finish(ec);
        rb.consume(r.consumed);
        if (info_.tls_required || (tls_wanted_ && info_.tls_available))
        {
            state_ = state::tls_handshake;
            return {handshake_action::tls_handshake, {}, {}};
        }
        if (tls_wanted_) return finish(errc::secure_connection_wanted);
        return send_connect();
    }
    case state::tls_handshake: tls_active_ = true; return send_connect();
    case state::write_connect: state_ = state::await_pong; return read_until_pong(rb);
    case state::await_pong: return read_until_pong(rb);
    case state::finished: return {handshake_action::done, {}, {}};
    }
    return finish(errc::protocol_error);
}

} // namespace beamline::nats::sansio
