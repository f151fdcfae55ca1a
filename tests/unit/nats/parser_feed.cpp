#include "parser_feed.hpp"

namespace beamline::nats::test
{

std::string describe(const protocol::frame& f)
{
    using protocol::frame_kind;
    switch (f.kind)
    {
    case frame_kind::info:
        return "INFO " + std::string(f.text);
    case frame_kind::ping:
        return "PING";
    case frame_kind::pong:
        return "PONG";
    case frame_kind::ok:
        return "+OK";
    case frame_kind::err:
        return "-ERR [" + std::string(f.text) + "]";
    case frame_kind::msg:
    case frame_kind::hmsg:
        return std::string(f.kind == frame_kind::msg ? "MSG" : "HMSG") +
               " subject=" + std::string(f.subject) + " reply=" + std::string(f.reply) +
               " sid=" + std::to_string(f.sid) + " headers=[" + std::string(f.headers) + "] payload=[" +
               std::string(f.payload) + "]";
    }
    return "?";
}

namespace
{

/// Parses every complete frame at the front of `buffer`; false once an error was reported.
bool drain(std::string& buffer, std::size_t fed, feed_result& out)
{
    for (;;)
    {
        protocol::frame f;
        auto r = protocol::parse_frame(buffer, f);
        switch (r.status)
        {
        case protocol::parse_status::complete:
            if (r.consumed == 0 || r.consumed > buffer.size())
                out.contract_violation = "complete frame consumed " + std::to_string(r.consumed) + " of " +
                                         std::to_string(buffer.size());
            out.frames.push_back(describe(f));
            buffer.erase(0, r.consumed);
            break;
        case protocol::parse_status::need_more:
            if (r.consumed != 0) out.contract_violation = "need_more consumed bytes";
            if (r.needed != 0 && r.needed <= buffer.size())
                out.contract_violation = "need_more asked for " + std::to_string(r.needed) + " with " +
                                         std::to_string(buffer.size()) + " unread";
            return true;
        case protocol::parse_status::error:
            if (!r.ec) out.contract_violation = "error without an error code";
            out.ec = r.ec;
            out.error_after = fed;
            return false;
        }
    }
}

} // namespace

feed_result feed(std::string_view input, const std::vector<std::size_t>& cuts)
{
    feed_result out;
    std::string buffer;
    std::size_t from = 0;
    auto chunk_ends = cuts;
    chunk_ends.push_back(input.size());
    for (std::size_t to : chunk_ends)
    {
        buffer.append(input.substr(from, to - from));
        from = to;
        if (!drain(buffer, to, out)) break;
    }
    out.unread = buffer.size();
    return out;
}

feed_result feed_bytewise(std::string_view input)
{
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < input.size(); ++i)
        cuts.push_back(i);
    return feed(input, cuts);
}

} // namespace beamline::nats::test
