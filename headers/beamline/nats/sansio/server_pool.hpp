#pragma once
// The servers a client may connect to and the order it tries them in (ADR-40 reconnect): shuffled
// unless told not to, each server moved to the back once tried, dropped after `max_attempts`
// consecutive failures, extended with the `connect_urls` a server announces. Pure: the RNG is
// injected.

#include "beamline/nats/options.hpp"

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace beamline::nats::sansio
{

struct server_entry
{
    server_url url;
    int failed_attempts = 0; ///< consecutive, reset on success
    bool did_connect = false;
    bool discovered = false;
    std::string tls_name; ///< host name to verify when the URL holds a discovered bare IP
    int last_auth_error = 0; ///< server_errc of the last auth failure, 0 if none
};

class server_pool
{
public:
    server_pool(std::vector<server_url> servers, bool randomize, int max_attempts, std::uint64_t seed);

    /// A copy of the next server to try (it moves to the back of the pool); nullopt when every
    /// server is gone. Entries are named by their URL afterwards, since the pool may change while
    /// an attempt is under way.
    std::optional<server_entry> next();
    /// Records a failed attempt; drops the server once it reached the attempt limit. `auth_error` is
    /// the server_errc of an authentication failure (0 if none): the same one twice in a row drops
    /// the server at once.
    void failed(const server_url& u, int auth_error = 0);
    void remove(const server_url& u);
    void connected(const server_url& u);

    /// Adds announced URLs not yet known. `tls_name` is kept for verification of bare IPs.
    /// Returns how many were added.
    std::size_t add_discovered(const std::vector<std::string>& urls, bool tls, const std::string& tls_name);

    std::size_t size() const noexcept { return servers_.size(); }
    bool empty() const noexcept { return servers_.empty(); }
    const std::vector<server_entry>& entries() const noexcept { return servers_; }

private:
    bool known(const server_url& u) const;
    server_entry* find(const server_url& u);

    std::vector<server_entry> servers_;
    bool randomize_;
    int max_attempts_;
    std::mt19937_64 rng_;
};

/// How long to sleep after a full pass through the pool without success: wait + uniform jitter.
class reconnect_backoff
{
public:
    reconnect_backoff(milliseconds wait, milliseconds jitter, std::uint64_t seed) : wait_(wait), jitter_(jitter), rng_(seed) {}
    milliseconds next_delay();

private:
    milliseconds wait_;
    milliseconds jitter_;
    std::mt19937_64 rng_;
};

/// Client-side keepalive: each interval a PING goes out; more than `max_out` unanswered means the
/// connection is stale.
class keepalive
{
public:
    enum class action
    {
        send_ping,
        stale,
    };

    explicit keepalive(int max_out) noexcept : max_out_(max_out) {}
    action on_interval() noexcept
    {
        if (outstanding_ + 1 > max_out_) return action::stale;
        ++outstanding_;
        return action::send_ping;
    }
    void on_pong() noexcept { outstanding_ = 0; }
    void reset() noexcept { outstanding_ = 0; }
    int outstanding() const noexcept { return outstanding_; }

private:
    int max_out_;
    int outstanding_ = 0;
};

} // namespace beamline::nats::sansio
