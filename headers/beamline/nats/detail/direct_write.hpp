#pragma once
// The pieces of the publish path that touch the operating system directly: the outbound lock, the
// write a publishing thread makes itself (one gathered sendmsg of the buffer's blocks, without
// going through the I/O thread), and the cap on bytes the kernel holds unsent.

#include <pthread.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <sys/uio.h>
#include <vector>

namespace beamline::nats::detail
{

/// A mutex whose waiter spins a little before sleeping: the outbound lock is held for a memcpy at a
/// time, and a futex sleep and wake-up per collision cost more than the whole critical section.
class spin_then_sleep_mutex
{
public:
    spin_then_sleep_mutex();
    ~spin_then_sleep_mutex() { pthread_mutex_destroy(&m_); }
    spin_then_sleep_mutex(const spin_then_sleep_mutex&) = delete;
    spin_then_sleep_mutex& operator=(const spin_then_sleep_mutex&) = delete;
    void lock() { pthread_mutex_lock(&m_); }
    bool try_lock() { return pthread_mutex_trylock(&m_) == 0; }
    void unlock() { pthread_mutex_unlock(&m_); }

private:
    pthread_mutex_t m_;
};

/// Writes `blocks` to the non-blocking socket `fd` in order, as gathered writes (`iov` is scratch
/// space, kept by the caller so no write allocates). With `may_block` (a publisher on a thread of
/// its own), waits for room in a full socket for at most `block_for`, as a blocking client does;
/// otherwise stops at the first EAGAIN. Returns the bytes written: less than the total when the
/// socket stayed full or failed (the writer then finishes, or meets the error on its own write).
std::size_t send_blocks(int fd, const std::vector<std::string>& blocks, std::vector<iovec>& iov, bool may_block,
                        std::chrono::milliseconds block_for);

/// Caps what the kernel holds unsent for the socket (TCP_NOTSENT_LOWAT); 0 leaves the default.
void limit_unsent_bytes(int fd, std::size_t bytes);

} // namespace beamline::nats::detail
