#pragma once
// The bytes waiting to be written to a server, as a chain of fixed-size blocks that are recycled
// once written. One growing string would be reallocated (a copy of everything buffered, into
// fresh pages that fault in) each time a burst outgrew it; blocks are never moved, written blocks
// come back warm for the next frames, and the writer hands them all to one gathered write.
// Not thread-safe: the client guards it with its outbound lock.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace beamline::nats::sansio
{

class outbound_buffer
{
public:
    static constexpr std::size_t default_block_size = 64 * 1024;
    static constexpr std::size_t default_spare_limit = 64; ///< blocks kept for reuse (4 MiB)

    explicit outbound_buffer(std::size_t block_size = default_block_size,
                             std::size_t spare_limit = default_spare_limit)
        : block_size_(block_size), spare_limit_(spare_limit)
    {
    }

    /// Appends one frame of at most `max_size` bytes: `encode(std::string&)` appends it to a block
    /// that has room for `max_size` more bytes, so the frame is never split and no block grows.
    template <class Encode>
    void append_frame(std::size_t max_size, Encode&& encode)
    {
        std::string& block = block_for(max_size);
        std::size_t before = block.size();
        encode(block);
        size_ += block.size() - before;
    }
    void append(std::string_view bytes)
    {
        append_frame(bytes.size(), [bytes](std::string& b) { b.append(bytes); });
    }

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

    /// Moves every block with data to `out` (emptied first; its blocks are recycled), leaving this
    /// buffer empty. The blocks in `out` stay valid until the next `take` or `recycle` with it.
    void take(std::vector<std::string>& out);
    /// Gives written blocks back: up to the spare limit are kept, emptied, for reuse.
    void recycle(std::vector<std::string>& blocks);
    /// Undoes a `take` whose write stopped after `sent` bytes: the unsent rest of `taken` becomes
    /// this buffer's content again, ahead of anything appended since (which must be nothing: the
    /// caller holds the lock across take, write and this call). Fully written blocks are recycled.
    /// When the write stopped inside a block, that block now starts with the tail of a frame
    /// whose head went out: see drop_partial_head().
    void put_back_unsent(std::vector<std::string>& taken, std::size_t sent);
    /// The connection the partial frame's head went to is gone: drops the rest of the first block
    /// (the frame's tail and the whole frames after it in that block, as a writer drops what it
    /// had taken), so the next connection starts at a frame boundary. No-op without such a head.
    void drop_partial_head();
    bool has_partial_head() const noexcept { return partial_head_; }
    /// Drops everything buffered (blocks are kept for reuse).
    void clear();

private:
    std::string& block_for(std::size_t frame_size);

    std::vector<std::string> blocks_; ///< in write order; only the last one is appended to
    std::vector<std::string> spare_;  ///< empty, with capacity
    std::size_t size_ = 0;
    bool partial_head_ = false; ///< blocks_.front() begins inside a frame already partly written
    std::size_t block_size_;
    std::size_t spare_limit_;
};

} // namespace beamline::nats::sansio
