#pragma once
// The bytes read from a server and not yet parsed. Frames are parsed in place; a partial frame stays
// at the front until the rest arrives.

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace beamline::nats::sansio
{

class read_buffer
{
public:
    explicit read_buffer(std::size_t initial = 64 * 1024) : buf_(initial) {}

    std::string_view data() const noexcept { return {buf_.data() + head_, tail_ - head_}; }
    void consume(std::size_t n) noexcept
    {
        head_ += n;
        if (head_ == tail_) head_ = tail_ = 0;
    }
    /// Writable space after the unread bytes, big enough that `unread_needed` unread bytes fit
    /// (the parser's hint for a large message), compacting or growing as needed.
    std::span<char> prepare(std::size_t unread_needed = 0);
    void commit(std::size_t n) noexcept { tail_ += n; }
    void clear() noexcept { head_ = tail_ = 0; }
    std::size_t capacity() const noexcept { return buf_.size(); }

private:
    std::vector<char> buf_;
    std::size_t head_ = 0;
    std::size_t tail_ = 0;
};

} // namespace beamline::nats::sansio
