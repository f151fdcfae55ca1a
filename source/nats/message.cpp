#include "beamline/nats/message.hpp"

namespace beamline::nats
{

message::message(const message_view& v)
    : subject_len_(static_cast<std::uint32_t>(v.subject.size())),
      reply_len_(static_cast<std::uint32_t>(v.reply.size())),
      header_len_(static_cast<std::uint32_t>(v.header_block.size()))
{
    data_.reserve(v.subject.size() + v.reply.size() + v.header_block.size() + v.payload.size());
    data_.append(v.subject).append(v.reply).append(v.header_block).append(v.payload);
}

headers message::parsed_headers() const
{
    headers h;
    if (!header_block().empty() && headers::parse(header_block(), h)) return headers{};
    return h;
}

} // namespace beamline::nats
