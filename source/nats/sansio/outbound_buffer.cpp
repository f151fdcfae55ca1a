#include "beamline/nats/sansio/outbound_buffer.hpp"

#include <algorithm>
#include <cassert>

namespace beamline::nats::sansio
{

std::string& outbound_buffer::block_for(std::size_t frame_size)
{
    if (!blocks_.empty())
    {
        std::string& last = blocks_.back();
        if (last.capacity() - last.size() >= frame_size) return last;
    }
    // A frame larger than a block gets a block of its own size; it is not kept as a spare.
    if (!spare_.empty() && spare_.back().capacity() >= frame_size)
    {
        blocks_.push_back(std::move(spare_.back()));
        spare_.pop_back();
    }
    else
    {
        blocks_.emplace_back();
        blocks_.back().reserve(std::max(block_size_, frame_size));
    }
    return blocks_.back();
}

void outbound_buffer::take(std::vector<std::string>& out)
{
    recycle(out);
    out.swap(blocks_);
    size_ = 0;
    partial_head_ = false; // the taker writes it, or drops it with the connection
}

void outbound_buffer::recycle(std::vector<std::string>& blocks)
{
    for (auto& b : blocks)
    {
        if (spare_.size() >= spare_limit_ || b.capacity() > block_size_) continue;
        b.clear();
        spare_.push_back(std::move(b));
    }
    blocks.clear();
}

void outbound_buffer::put_back_unsent(std::vector<std::string>& taken, std::size_t sent)
{
    std::size_t written_blocks = 0;
    while (written_blocks < taken.size() && sent >= taken[written_blocks].size())
        sent -= taken[written_blocks++].size();
    std::vector<std::string> rest(std::make_move_iterator(taken.begin() + static_cast<std::ptrdiff_t>(written_blocks)),
                                  std::make_move_iterator(taken.end()));
    taken.resize(written_blocks);
    recycle(taken);
    partial_head_ = !rest.empty() && sent > 0;
    if (!rest.empty()) rest.front().erase(0, sent);
    assert(blocks_.empty() && "nothing may be appended between take and put_back_unsent");
    blocks_.swap(rest);
    size_ = 0;
    for (const auto& b : blocks_)
        size_ += b.size();
}

void outbound_buffer::drop_partial_head()
{
    if (!partial_head_ || blocks_.empty()) return;
    partial_head_ = false;
    size_ -= blocks_.front().size();
    std::vector<std::string> head;
    head.push_back(std::move(blocks_.front()));
    blocks_.erase(blocks_.begin());
    recycle(head);
}

void outbound_buffer::clear()
{
    recycle(blocks_);
    size_ = 0;
    partial_head_ = false;
}

} // namespace beamline::nats::sansio
