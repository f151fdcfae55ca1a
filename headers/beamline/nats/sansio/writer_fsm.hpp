#pragma once
// Who writes the outbound buffer to the socket, as one named state instead of flags. The writer
// coroutine asks next() what to do each time it comes round; publishers tell on_publish() what
// they appended and are told whether to wake the writer or to write the block themselves (a
// direct write, as libnats does with a full buffer). Both sides call in under the client's
// outbound lock, so the state is plain data with no ordering of its own; the one read without the
// lock (the writer deciding whether to keep leaving a burst) is a heuristic and an atomic load.
//
// The hand-over heuristics: when a write ends with a burst from a thread of its own waiting behind
// it, the writer parks for direct_write_wait and leaves the burst to that thread, which writes it
// itself once it fills a block; while it keeps writing blocks, the writer looks again after twice
// as long each time, up to 25 times direct_write_wait. Everything is inline: it runs once per
// published message, with no allocation and no virtual call.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace beamline::nats::sansio
{

enum class writer_state : std::uint8_t
{
    stopped,           ///< no connection: publishes only buffer
    woken,             ///< the writer has been asked for and has not taken yet
    writing,           ///< a write is in flight; publishes append behind it
    writing_burst_behind, ///< writing, and a thread of its own piles up a burst behind the write
    parked,            ///< waits for work, nothing in flight: a publish wakes it or writes itself
    leaving_burst,     ///< parked with a timer, leaving a burst to its publisher (publishes do not wake it)
};
std::string_view to_string(writer_state s) noexcept;

struct writer_settings
{
    std::size_t direct_write_bytes = 32 * 1024; ///< a block: what a publisher writes itself; 0: never
    std::chrono::microseconds direct_write_wait{200};
};

class writer_fsm
{
public:
    using clock = std::chrono::steady_clock;

    enum class publish_action : std::uint8_t
    {
        none,           ///< the frame waits in the buffer; the writer comes for it by itself
        wake_writer,    ///< wake the writer (outside the lock)
        write_directly, ///< write everything waiting from this thread, now, under the lock
    };
    enum class writer_action : std::uint8_t
    {
        write,       ///< take the buffer (and the control frames) and write it
        park,        ///< nothing to write: wait until woken
        leave_burst, ///< wait direct_write_wait (see look_again) and let the publisher write
    };

    explicit writer_fsm(writer_settings s = {}) noexcept : settings_(s) {}
    /// Copyable (for tests that fork a scenario); the client keeps one in place.
    writer_fsm(const writer_fsm& o) noexcept
        : settings_(o.settings_), state_(o.state()), taken_at_(o.taken_at_), look_after_(o.look_after_)
    {
    }
    writer_fsm& operator=(const writer_fsm&) = delete;

    writer_state state() const noexcept { return state_.load(std::memory_order_relaxed); }
    const writer_settings& settings() const noexcept { return settings_; }

    /// A connection is up and its writer starts: it takes at once.
    void start() noexcept { set(writer_state::woken); }
    /// The connection is gone: nothing writes until the next start().
    void stop() noexcept { set(writer_state::stopped); }

    /// A publisher appended a frame; `waiting` bytes are now in the buffer. `direct_ok` when the
    /// socket may be written from a publishing thread (plain TCP, connected); `own_thread()` tells
    /// whether the caller is a thread of its own (asked only when it matters: it costs a lookup).
    template <class OwnThread>
    publish_action on_publish(std::size_t waiting, bool direct_ok, OwnThread&& own_thread) noexcept
    {
        switch (state())
        {
        case writer_state::parked:
            if (direct_ok && waiting >= settings_.direct_write_bytes) return publish_action::write_directly;
            set(writer_state::woken);
            return publish_action::wake_writer;
        case writer_state::leaving_burst:
            // The writer comes back by itself; a full block goes out from here.
            if (direct_ok && waiting >= settings_.direct_write_bytes) return publish_action::write_directly;
            return publish_action::none;
        case writer_state::writing:
            if (direct_ok && waiting >= settings_.direct_write_bytes / 4 && own_thread())
                set(writer_state::writing_burst_behind);
            return publish_action::none;
        case writer_state::stopped:
        case writer_state::woken:
        case writer_state::writing_burst_behind: return publish_action::none;
        }
        return publish_action::none;
    }

    /// Something only the writer can send was queued (a control frame, SUB, UNSUB): true when the
    /// writer waits and must be woken (outside the lock).
    bool on_needs_writer() noexcept
    {
        auto s = state();
        if (s != writer_state::parked && s != writer_state::leaving_burst) return false;
        set(writer_state::woken);
        return true;
    }

    /// A direct write the socket did not finish: its rest is back in the buffer and the writer must
    /// finish it (wake it, outside the lock).
    void on_direct_write_unfinished() noexcept { set(writer_state::woken); }

    /// The writer comes round: what now? `waiting` bytes of publishes are buffered, `control_waiting`
    /// when control frames are queued, `publishers_waiting` when publishers wait for the backlog to
    /// be taken (they are never kept waiting for a burst).
    writer_action next(std::size_t waiting, bool control_waiting, bool direct_ok, bool publishers_waiting,
                       clock::time_point now) noexcept
    {
        if (state() == writer_state::writing_burst_behind && !control_waiting && direct_ok && !publishers_waiting &&
            leave(waiting, now - taken_at_))
        {
            set(writer_state::leaving_burst);
            look_after_ = settings_.direct_write_wait;
            return writer_action::leave_burst;
        }
        if (waiting == 0 && !control_waiting)
        {
            set(writer_state::parked);
            return writer_action::park;
        }
        set(writer_state::writing);
        taken_at_ = now;
        return writer_action::write;
    }

    /// While leaving a burst: how long to wait before the first look.
    std::chrono::microseconds first_look() const noexcept { return settings_.direct_write_wait; }
    /// A look found the writer still leaving the burst; `publisher_wrote` when the publisher wrote
    /// a block since the last look. True: wait again for look_after() (it doubled, up to 25 times
    /// direct_write_wait). False: stop leaving; call next().
    bool look_again(bool publisher_wrote) noexcept
    {
        if (state() != writer_state::leaving_burst || !publisher_wrote) return false;
        look_after_ = std::min(2 * look_after_, 25 * settings_.direct_write_wait);
        return true;
    }
    std::chrono::microseconds look_after() const noexcept { return look_after_; }

private:
    void set(writer_state s) noexcept { state_.store(s, std::memory_order_relaxed); }

    /// Leave the `waiting` bytes to their publisher only when it will fill a block within
    /// direct_write_wait at the rate they came in `since_take`; a slower burst is written now.
    bool leave(std::size_t waiting, clock::duration since_take) const noexcept
    {
        const std::size_t block = settings_.direct_write_bytes;
        if (waiting < block / 4) return false;
        if (waiting >= block) return true; // the publisher's next publish writes it
        auto wait = std::chrono::duration_cast<clock::duration>(settings_.direct_write_wait);
        return (block - waiting) * static_cast<std::size_t>(since_take.count()) <=
               waiting * static_cast<std::size_t>(wait.count());
    }

    writer_settings settings_;
    std::atomic<writer_state> state_{writer_state::stopped};
    clock::time_point taken_at_{};
    std::chrono::microseconds look_after_{0};
};

} // namespace beamline::nats::sansio
