#include "beamline/nats/sansio/read_buffer.hpp"

#include <cstring>

namespace beamline::nats::sansio
{

std::span<char> read_buffer::prepare(std::size_t unread_needed)
{
    constexpr std::size_t min_free = 16 * 1024;
    std::size_t unread = tail_ - head_;
    std::size_t want = std::max(unread_needed, unread) + min_free;
    if (buf_.size() - tail_ < min_free || buf_.size() - head_ < want)
    {
        if (head_ > 0)
        {
            std::memmove(buf_.data(), buf_.data() + head_, unread);
            head_ = 0;
            tail_ = unread;
        }
        if (buf_.size() < want) buf_.resize(std::max(want, buf_.size() * 2));
    }
    return {buf_.data() + tail_, buf_.size() - tail_};
}

} // namespace beamline::nats::sansio
