#pragma once
// What a failed connection attempt is called, in one place: the facts the engine gathered (the
// error, where, whether the deadline fired, whether TLS was up or failing) → the error_code the
// user sees and the sentence in last_error_text(), e.g. "TLS handshake failed: certificate verify
// failed (tls://127.0.0.1:4222)" or "Connection refused (nats://127.0.0.1:4222)". Pure.

#include <chrono>
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

struct connect_failure
{
    std::error_code ec;
    std::string text;
};

connect_failure describe_connect_failure(const connect_attempt_facts& facts);

/// Text for an error, with OpenSSL's reason when it comes from TLS ("certificate verify failed").
std::string describe_error(const std::error_code& ec);

} // namespace beamline::nats
