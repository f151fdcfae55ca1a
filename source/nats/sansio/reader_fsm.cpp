#include "beamline/nats/sansio/reader_fsm.hpp"

#include "beamline/nats/error.hpp"

namespace beamline::nats::sansio
{

reader_action reader_fsm::fail(std::error_code ec, std::string text)
{
    error_text_ = std::move(text);
    return {reader_action::fail, 0, ec, {}};
}

reader_action reader_fsm::next(read_buffer& rb)
{
    for (;;) // frames that need nothing from the engine (+OK, an unreadable INFO) are skipped here
    {
        rb.consume(to_consume_);
        to_consume_ = 0;
        auto r = protocol::parse_frame(rb.data(), frame_);
        if (r.status == protocol::parse_status::need_more) return {reader_action::read, r.needed, {}, {}};
        if (r.status == protocol::parse_status::error)
            return fail(r.ec, "protocol error from server: " + r.ec.message());
        to_consume_ = r.consumed;
        switch (frame_.kind)
        {
        case protocol::frame_kind::msg:
        case protocol::frame_kind::hmsg: return {reader_action::deliver, 0, {}, {}};
        case protocol::frame_kind::ping: return {reader_action::send_pong, 0, {}, {}};
        case protocol::frame_kind::pong: return {reader_action::pong, 0, {}, {}};
        case protocol::frame_kind::ok: continue;
        case protocol::frame_kind::info:
        {
            protocol::server_info fresh;
            if (protocol::parse_server_info(frame_.text, fresh)) continue; // unreadable: ignored, as before
            info_ = std::move(fresh);
            return {reader_action::info, 0, {}, {}};
        }
        case protocol::frame_kind::err:
        {
            auto e = classify_server_error(frame_.text);
            if (action_for(e) == server_error_action::report) return {reader_action::report_error, 0, e, frame_.text};
            return fail(e, "server error: '" + std::string(frame_.text) + "'");
        }
        }
        return fail(errc::protocol_error, "protocol error from server: " + std::error_code(errc::protocol_error).message());
    }
}

reader_action reader_fsm::on_read(std::error_code io_ec, std::size_t n, read_buffer& rb)
{
    if (io_ec) return fail(io_ec, {});
    rb.commit(n);
    return next(rb);
}

} // namespace beamline::nats::sansio
