#pragma once
// What a failed connection attempt is called, in one place: the facts the engine gathered (the
// error, where, whether the deadline fired, whether TLS was up or failing) → the error_code the
// user sees and the sentence in last_error_text(), e.g. "TLS handshake failed: certificate verify
// failed (tls://127.0.0.1:4222)" or "Connection refused (nats://127.0.0.1:4222)". Pure.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

namespace beamline::nats
{

struct connect_attempt_facts
{
    std::error_code ec;      ///< what the attempt ended with
    std::string_view where;  ///< the server, without credentials
    bool timed_out = false;  ///< connect_timeout fired (the error is then the closed socket's)
    std::chrono::milliseconds timeout{0};
    bool tls_step_failed = false;       ///< the error came from the TLS handshake itself
    bool tls_active = false;            ///< the stream was TLS when it failed
    std::string_view server_error_text; ///< the server's -ERR during the handshake
};

/// The bounded classes of failed connections an operator tells apart on a dashboard
/// (`router_nats_connection_failures_total{reason}`). Order is the index of the client's counters.
enum class connect_failure_reason
{
    tls,     ///< handshake failed, certificate refused, TLS wanted but not offered
    auth,    ///< the server refused the credentials (authorization, expired, revoked, auth timeout)
    refused, ///< nothing listens there (TCP connection refused)
    timeout, ///< connect_timeout fired before the handshake finished
    stale,   ///< a live connection stopped answering PINGs
    other,   ///< anything else: DNS, unreachable network, reset, a server -ERR of another kind
};
inline constexpr std::size_t connect_failure_reason_count = 6;

std::string_view to_string(connect_failure_reason r) noexcept;

struct connect_failure
{
    std::error_code ec;
    std::string text;
    connect_failure_reason reason = connect_failure_reason::other;
};

connect_failure describe_connect_failure(const connect_attempt_facts& facts);

/// Text for an error, with OpenSSL's reason when it comes from TLS ("certificate verify failed").
std::string describe_error(const std::error_code& ec);

} // namespace beamline::nats
