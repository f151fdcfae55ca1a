#pragma once
// The outstanding-request table of the load generator. Each slot holds one atomic word: send time,
// a busy bit and a generation. The reply thread, the timeout scanner and the open-loop sender all
// race for a slot with a single compare-and-swap, so only one of them ends each request.
//
// A request's reply subject names its slot and the slot's reply epoch, not its generation: the
// epoch changes only when a request is abandoned unanswered. So a healthy closed loop reuses the
// same N reply subjects, which nats-server's per-connection and sublist caches keep matched; a
// subject per request (one per generation) misses both on every reply and costs the server more
// than the request itself. A reply that arrives after its request was abandoned carries the old
// epoch and is recognised as late.

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
        : slots_(std::make_unique<std::atomic<std::uint64_t>[]>(count)),
          epochs_(std::make_unique<std::atomic<std::uint32_t>[]>(count)), count_(count)
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

    // The epoch to put in the reply subject of the request the slot now holds.
    [[nodiscard]] std::uint32_t reply_epoch(std::uint32_t slot) const
    {
        return epochs_[slot].load(std::memory_order_acquire);
    }

    // The request a reply with this slot and epoch answers: false when the slot holds none, or
    // holds one sent after the reply's request was abandoned (the reply is late).
    [[nodiscard]] bool request_answered_by(std::uint32_t slot, std::uint32_t epoch, SlotState& state) const
    {
        // State first: a request claimed after an abandon is seen together with the new epoch.
        state = load(slot);
        return state.busy() && reply_epoch(slot) == epoch;
    }

    // Ends the request `expected` unanswered (timed out, or its slot is needed again) and leaves
    // the slot idle under a new reply epoch. False when someone else ended it first.
    bool abandon(std::uint32_t slot, SlotState expected)
    {
        SlotState idle;
        if (!complete(slot, expected, false, 0, idle)) return false;
        // While the slot is idle, so no reply can be matched with the next request before the
        // epoch has changed (claim's release publishes this store with the new request).
        epochs_[slot].fetch_add(1, std::memory_order_release);
        return true;
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
    std::unique_ptr<std::atomic<std::uint32_t>[]> epochs_;
    std::size_t count_;
};

} // namespace beamline::perf
