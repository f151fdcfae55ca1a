#pragma once
// Options of a NATS client connection. Defaults follow nats.c / nats.go (ADR-40).

#include "beamline/common/address.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace beamline::nats
{

using std::chrono::milliseconds;

/// One server address (common/address): `nats://[user[:pass]@]host[:port]`, `tls://...`, `host[:port]`.
using server_url = common::server_url;

/// Parses one URL with common::parse_server_url; a bad one is `errc::invalid_url`.
std::error_code parse_server_url(std::string_view text, server_url& out);

struct tls_options
{
    std::string ca_file;   ///< verify the server against this CA (else the system's)
    std::string cert_file; ///< client certificate, for mutual TLS
    std::string key_file;
    bool verify = true;       ///< verify the server's certificate and host name
    std::string server_name;  ///< host name for SNI and verification; default: the URL's host
};

struct client_options
{
    std::vector<std::string> servers{"nats://127.0.0.1:4222"};
    std::string name;
    std::string user;
    std::string password;
    std::string token;
    tls_options tls;
    bool require_tls = false; ///< also implied by a `tls://` URL or a CA/cert file

    milliseconds connect_timeout{2000};  ///< TCP + INFO + TLS + CONNECT/PONG, per attempt
    milliseconds ping_interval{120000};
    int max_pings_out = 2;
    bool allow_reconnect = true;
    int max_reconnect = 60;              ///< attempts per server; < 0 means forever
    milliseconds reconnect_wait{2000};   ///< sleep after a full pass through the pool
    milliseconds reconnect_jitter{100};
    milliseconds reconnect_jitter_tls{1000};
    bool no_randomize = false;
    bool ignore_discovered_servers = false;
    bool retry_on_failed_connect = false; ///< keep trying in the background after a failed first pass
    std::size_t reconnect_buffer_bytes = 8 * 1024 * 1024; ///< 0 disables buffering while disconnected
    std::size_t max_pending_bytes = 64 * 1024 * 1024;     ///< outbound bytes not yet written, connected
    /// Flow control for publishers on threads of their own: past this many unwritten bytes,
    /// publish() waits (briefly) for the writer to take the backlog, as a blocking client would.
    /// Threads of the client's io_context never wait. 0 disables.
    std::size_t publish_high_water_bytes = 512 * 1024;
    /// A publish that finds this many bytes waiting and no write in flight writes them to the
    /// socket itself, without blocking, as libnats does with a full buffer: the bytes go out from
    /// the core that just wrote them instead of crossing to the I/O thread. What the socket does
    /// not take at once is left to the writer. Plain TCP only; 0 leaves every write to the writer.
    std::size_t direct_write_bytes = 32 * 1024;
    /// When a write ends with a burst from a thread of its own already waiting (a quarter of
    /// direct_write_bytes or more, coming fast enough to fill a block within this time), the
    /// writer leaves the burst to that thread for this long, and writes what is still waiting
    /// then. While the thread keeps writing blocks, the writer looks again after twice as long
    /// each time, up to 25 times this (5 ms): the unflushed tail of a long stream waits at most
    /// that long (flush() sends it at once). Sparse traffic never waits.
    std::chrono::microseconds direct_write_wait{200};
    /// At most this many bytes wait unsent in the kernel (TCP_NOTSENT_LOWAT); more waits in the
    /// client until the server drains it. In-flight data is not limited, so long links keep their
    /// throughput. With nats-server on the same host it keeps the server from paying for our
    /// transmits (it sends queued data when its read opens the window): on 2 cores, 64 KiB took
    /// publish from 4.9-5.1 to 6.8-7.0 M msgs/s, nats-server's CPU from 200 to 150 us per 1,000
    /// messages. 0 leaves the kernel's default (unlimited).
    std::size_t tcp_notsent_lowat = 64 * 1024;
    bool echo = true;
    bool no_responders = true;

    std::size_t sub_pending_msgs = 65536;               ///< default per-subscription limits
    std::size_t sub_pending_bytes = 64 * 1024 * 1024;

    std::uint64_t random_seed = 0; ///< 0: seeded from std::random_device
};

} // namespace beamline::nats
