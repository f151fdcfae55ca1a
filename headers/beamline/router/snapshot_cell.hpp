#pragma once
// A shared_ptr<const T> that writers replace and many readers copy, for read-mostly state (the
// policy set, the tenant map).
//
// A small mutex rather than std::atomic<std::shared_ptr>: libstdc++ 12's atomic<shared_ptr>::load
// releases its internal lock bit with memory_order_relaxed, so the pointer it read is not ordered
// before the next store's write of it. That is a data race in the C++ memory model (ThreadSanitizer
// reports it, inside std::swap) and unsafe on weakly ordered CPUs, where a load may pair the new
// pointer with the old control block. The critical section is one refcount increment.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace beamline::router
{

template <class T>
class snapshot_cell
{
public:
    explicit snapshot_cell(std::shared_ptr<const T> initial) : value_(std::move(initial)) {}
    snapshot_cell(const snapshot_cell&) = delete;
    snapshot_cell& operator=(const snapshot_cell&) = delete;

    std::shared_ptr<const T> load() const
    {
        std::lock_guard lock(mutex_);
        return value_;
    }

    void store(std::shared_ptr<const T> next)
    {
        // The old value is released outside the lock: its destructor may free a whole map.
        {
            std::lock_guard lock(mutex_);
            value_.swap(next);
        }
        generation_.fetch_add(1, std::memory_order_release);
    }

    /// Moves on with every store, after the new value is in place: a reader that sees a
    /// generation and then loads gets that value or a later one. A reader that keeps a copy can
    /// tell it is still current without the lock or a refcount.
    std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const T> value_;
    std::atomic<std::uint64_t> generation_{0};
};

} // namespace beamline::router
