#include "beamline/nats/detail/direct_write.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

namespace beamline::nats::detail
{

spin_then_sleep_mutex::spin_then_sleep_mutex()
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&m_, &attr);
    pthread_mutexattr_destroy(&attr);
}

std::size_t send_blocks(int fd, const std::vector<std::string>& blocks, std::vector<iovec>& iov, bool may_block,
                        std::chrono::milliseconds block_for)
{
    auto deadline = std::chrono::steady_clock::time_point::min();
    iov.clear();
    std::size_t total = 0;
    for (const auto& b : blocks)
    {
        iov.push_back(iovec{const_cast<char*>(b.data()), b.size()});
        total += b.size();
    }
    std::size_t sent = 0, first = 0;
    while (sent < total)
    {
        msghdr mh{};
        mh.msg_iov = iov.data() + first;
        mh.msg_iovlen = std::min<std::size_t>(iov.size() - first, IOV_MAX);
        ssize_t n = ::sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0)
        {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) break; // the writer reports it
            if (!may_block) break;                                // the writer waits for room
            auto now = std::chrono::steady_clock::now();
            if (deadline == std::chrono::steady_clock::time_point::min()) deadline = now + block_for;
            if (now >= deadline) break;
            pollfd p{fd, POLLOUT, 0};
            auto ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
            if (::poll(&p, 1, static_cast<int>(ms)) < 0 && errno != EINTR) break;
            continue;
        }
        sent += static_cast<std::size_t>(n);
        for (auto left = static_cast<std::size_t>(n); left > 0;)
        {
            iovec& v = iov[first];
            if (left >= v.iov_len)
            {
                left -= v.iov_len;
                ++first;
            }
            else
            {
                v.iov_base = static_cast<char*>(v.iov_base) + left;
                v.iov_len -= left;
                left = 0;
            }
        }
    }
    return sent;
}

void limit_unsent_bytes(int fd, std::size_t bytes)
{
    // With nats-server on the same host this matters: data queued unsent is transmitted when the
    // server's read opens the window, in the server's context, so a deep queue makes the server
    // pay for our transmits. Best effort: a kernel without the option keeps its default.
    int n = static_cast<int>(std::min<std::size_t>(bytes, INT_MAX));
    if (n > 0) ::setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &n, sizeof n);
}

} // namespace beamline::nats::detail
