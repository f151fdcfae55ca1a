#pragma once
// The outstanding-request table of the load generator. Each slot holds one atomic word: send time,
// a busy bit and a generation. The reply thread, the timeout scanner and the open-loop sender all
// race for a slot with a single compare-and-swap, so a reply that arrives after its request was
// timed out (or after the slot was reused) is recognised by its stale generation and ignored.

#include <atomic>
#include <cstdint>
#include <memory>

namespace beamline::perf
{

class SlotState
{
public:
    static constexpr unsigned kGenerationBits = 21;
    static constexpr std::uint64_t kGenerationMask = (std::uint64_t{1} << kGenerationBits) - 1;
    static constexpr std::uint64_t kBusyBit = std::uint64_t{1} << kGenerationBits;
    static constexpr unsigned kTimeShift = kGenerationBits + 1; // 42 bits of ns: over an hour

    SlotState() = default;
    explicit SlotState(std::uint64_t raw) : raw_(raw) {}
    static SlotState make(std::uint32_t generation, bool busy, std::uint64_t sent_at_ns)
    {
        return SlotState((sent_at_ns << kTimeShift) | (busy ? kBusyBit : 0) | (generation & kGenerationMask));
    }

    [[nodiscard]] std::uint32_t generation() const
    {
        return static_cast<std::uint32_t>(raw_ & kGenerationMask);
    }
    [[nodiscard]] bool busy() const { return (raw_ & kBusyBit) != 0; }
    [[nodiscard]] std::uint64_t sent_at() const { return raw_ >> kTimeShift; }
    [[nodiscard]] std::uint64_t raw() const { return raw_; }
    [[nodiscard]] SlotState next(bool busy, std::uint64_t sent_at_ns) const
    {
        return make(generation() + 1, busy, busy ? sent_at_ns : sent_at());
    }

private:
    std::uint64_t raw_ = 0;
};

class RequestSlots
{
public:
    explicit RequestSlots(std::size_t count)
        : slots_(std::make_unique<std::atomic<std::uint64_t>[]>(count)), count_(count)
    {
    }

    [[nodiscard]] std::size_t size() const { return count_; }

    [[nodiscard]] SlotState load(std::uint32_t slot) const
    {
        return SlotState(slots_[slot].load(std::memory_order_acquire));
    }

    // Marks the slot busy for a request sent at `sent_at_ns`, whatever it held before; `previous`
    // tells the caller whether an unanswered request was overwritten.
    SlotState claim(std::uint32_t slot, std::uint64_t sent_at_ns, SlotState& previous)
    {
        std::uint64_t expected = slots_[slot].load(std::memory_order_acquire);
        SlotState desired;
        do
        {
            previous = SlotState(expected);
            desired = previous.next(true, sent_at_ns);
        } while (!slots_[slot].compare_exchange_weak(expected, desired.raw(), std::memory_order_acq_rel));
        return desired;
    }

    // Ends the request `expected` (answered or timed out). With `resend` the slot stays busy for a
    // new request sent at `now_ns`, returned in `next`. False when someone else ended it first.
    bool complete(std::uint32_t slot, SlotState expected, bool resend, std::uint64_t now_ns, SlotState& next)
    {
        next = expected.next(resend, now_ns);
        std::uint64_t raw = expected.raw();
        return slots_[slot].compare_exchange_strong(raw, next.raw(), std::memory_order_acq_rel);
    }

    [[nodiscard]] std::size_t busy_count() const
    {
        std::size_t busy = 0;
        for (std::size_t i = 0; i < count_; ++i)
            busy += SlotState(slots_[i].load(std::memory_order_relaxed)).busy() ? 1 : 0;
        return busy;
    }

private:
    std::unique_ptr<std::atomic<std::uint64_t>[]> slots_;
    std::size_t count_;
};

} // namespace beamline::perf
