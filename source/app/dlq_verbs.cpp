#include "beamline/app/dlq_verbs.hpp"

#include "beamline/nats/jetstream/error.hpp"

#include <iostream>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

namespace beamline::app
{

namespace js = nats::jetstream;

namespace
{

std::string header(const js::stored_message& m, std::string_view key)
{
    auto v = nats::find_header(m.header_block, key);
    return v ? std::string(*v) : std::string("-");
}

} // namespace

boost::asio::awaitable<int> dlq_list(js::context& ctx, std::string stream, std::size_t last)
{
    auto info = co_await ctx.get_stream_info(stream);
    if (info.ec)
    {
        std::cerr << "js dlq ls: " << info.error_text() << "\n";
        co_return 1;
    }
    const auto& st = info.value.state;
    std::cout << stream << ": " << st.messages << " dead letter" << (st.messages == 1 ? "" : "s") << "\n";
    if (st.messages == 0) co_return 0;
    std::uint64_t from = st.last_seq >= last ? st.last_seq - last + 1 : 1;
    if (from < st.first_seq) from = st.first_seq;
    for (std::uint64_t seq = from; seq <= st.last_seq; ++seq)
    {
        js::message_query q;
        q.seq = seq;
        auto m = co_await ctx.get_message(stream, q);
        if (m.ec) continue; // deleted or purged in between
        std::cout << "seq " << seq << "  " << header(m.value, "Beamline-Dlq-Reason") << "  from "
                  << header(m.value, "Beamline-Original-Subject") << " seq " << header(m.value, "Beamline-Original-Seq")
                  << "  " << m.value.time << "\n    " << header(m.value, "Beamline-Dlq-Error") << "\n";
    }
    co_return 0;
}

boost::asio::awaitable<int> dlq_replay(js::context& ctx, std::string stream, std::uint64_t seq)
{
    js::message_query q;
    q.seq = seq;
    auto m = co_await ctx.get_message(stream, q);
    if (m.ec)
    {
        std::cerr << "js dlq replay: dead letter " << seq << " of " << stream << ": " << m.error_text() << "\n";
        co_return 1;
    }
    auto subject = nats::find_header(m.value.header_block, "Beamline-Original-Subject");
    if (!subject || subject->empty())
    {
        std::cerr << "js dlq replay: message " << seq << " of " << stream << " has no Beamline-Original-Subject\n";
        co_return 1;
    }
    js::publish_options o;
    o.extra_headers.emplace_back("Beamline-Replay-Of", stream + ":" + std::to_string(seq));
    std::string target(*subject);
    auto r = co_await ctx.publish(target, m.value.data, o);
    if (r.ec)
    {
        std::cerr << "js dlq replay: publish to " << target << ": " << r.error_text() << "\n";
        co_return 1;
    }
    std::cout << "replayed dead letter " << seq << " to " << target << ": PubAck stream=" << r.value.stream
              << " seq=" << r.value.seq << "\n";
    co_return 0;
}

} // namespace beamline::app
