#pragma once
// The life of a client connection as a pure state machine (the shape of Boost.Redis's run_fsm):
//   pick a server → connect (TCP, INFO, TLS, CONNECT/PONG) → re-subscribe → run reader ∥ writer ∥
//   pinger → on failure: fail what cannot survive, pick the next server, after a full pass without
//   success back off, and give up when the pool is empty or reconnecting is not allowed.
// The engine performs each action and reports its outcome to the matching on_...(); the machine
// owns the server pool and the backoff, never a socket or a timer, so every path (each step
// failing, the first pass failing with or without retry_on_failed_connect, auth errors twice in a
// row) runs in unit tests without a server.

#include "beamline/nats/sansio/server_pool.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

namespace beamline::nats::sansio
{

struct run_policy
{
    bool allow_reconnect = true;
    bool retry_on_failed_connect = false; ///< keep trying after a failed first pass
    bool ignore_discovered_servers = false;
    bool tls_wanted = false; ///< discovered servers are then tls:// too
};

struct run_action
{
    enum kind : std::uint8_t
    {
        connect,     ///< attempt server(); then on_connect_result()
        sleep,       ///< a full pass through the pool failed: wait `delay`; then on_sleep_done()
        resubscribe, ///< connected: send every subscription again; then on_resubscribed()
        run,         ///< live: reader ∥ writer ∥ pinger until the connection ends; then on_connection_lost()
        closed,      ///< stop for good: fail what is pending, close, tell the user
    };
    kind what = closed;
    std::chrono::milliseconds delay{0};
    /// Before acting: connect()'s first pass is over. With `run` it succeeded; otherwise it failed
    /// with the last connection error.
    bool report_first_outcome = false;
    /// connect: the state to show is `reconnecting` (it was connected before), else `connecting`.
    /// run: this is a reconnection (the `reconnected` event), else the first connection.
    bool reconnecting = false;
    bool pool_exhausted = false; ///< closed: because no server is left to try
};

class run_fsm
{
public:
    run_fsm(server_pool pool, reconnect_backoff backoff, run_policy policy);

    run_action start() { return pick(); }
    /// The attempt at server() ended; `connect_urls` are those its INFO announced (on success).
    run_action on_connect_result(std::error_code ec, const std::vector<std::string>& connect_urls = {});
    run_action on_resubscribed(std::error_code ec);
    /// The live connection ended with `ec`.
    run_action on_connection_lost(std::error_code ec);
    run_action on_sleep_done() { return pick(); }
    /// close() was called: whatever was under way, stop.
    run_action on_close() { return {run_action::closed}; }

    /// A server's asynchronous INFO announced `urls` (added to the pool unless ignored).
    void on_servers_announced(const std::vector<std::string>& urls);

    /// The server of the last `connect` action (a copy: the pool may change meanwhile).
    const server_entry& server() const noexcept { return current_; }
    bool ever_connected() const noexcept { return ever_connected_; }
    const server_pool& pool() const noexcept { return pool_; }

private:
    run_action pick();

    server_pool pool_;
    reconnect_backoff backoff_;
    run_policy policy_;
    server_entry current_;
    std::string connected_tls_name_; ///< verification name for servers announced by this one
    std::size_t tried_ = 0;          ///< attempts in this pass through the pool
    bool ever_connected_ = false;
    bool first_outcome_reported_ = false;
};

} // namespace beamline::nats::sansio
