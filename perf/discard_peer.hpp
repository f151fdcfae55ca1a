#pragma once
// A loopback endpoint that speaks just enough of the NATS server's side to take a publisher's
// stream and throw it away: INFO on accept, PONG for every PING, and PUB/HPUB frames skipped by
// their declared sizes. It is not a server and is used for one thing only: measuring how fast a
// client can publish when nats-server's read loop (about 200 ns a message on the benchmark
// machine, the same for every client) is not what limits it. One connection at a time.

#include <atomic>
#include <cstdint>
#include <thread>

namespace beamline::perf
{

class discard_peer
{
public:
    discard_peer();  ///< listens on 127.0.0.1, a free port; throws std::runtime_error on failure
    ~discard_peer(); ///< stops accepting and joins its thread
    discard_peer(const discard_peer&) = delete;
    discard_peer& operator=(const discard_peer&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /// PUB and HPUB frames taken since the start, over all connections.
    std::uint64_t frames() const noexcept { return frames_.load(); }

private:
    void run();
    void serve(int fd);

    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> frames_{0};
    std::thread thread_;
};

} // namespace beamline::perf
