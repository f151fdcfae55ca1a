#pragma once
// Errors of the NATS client. One category for everything the client itself detects and one for the
// server's `-ERR` classes; the server's own text is kept apart (see client::last_error_text), so an
// error_code stays a small integer.

#include <string_view>
#include <system_error>

namespace beamline::nats
{

enum class errc
{
    // protocol (parser / encoder)
    protocol_error = 1,       ///< bytes from the server that do not follow the protocol
    control_line_too_long,    ///< a control line longer than 4096 bytes
    invalid_arguments,        ///< a MSG/HMSG line with wrong or non-numeric arguments
    invalid_info,             ///< INFO whose JSON cannot be read
    invalid_headers,          ///< a header block that is not `NATS/1.0 ...\r\n...\r\n\r\n`
    invalid_subject,          ///< empty, whitespace, empty token, misplaced wildcard
    invalid_header_key,
    // connection
    not_connected,            ///< no connection and the reconnect buffer is not allowed
    connection_closed,        ///< the client was closed, or gave up reconnecting
    disconnected,             ///< the connection was lost while an operation was pending
    no_servers,               ///< every server in the pool failed or exhausted its attempts
    connect_timeout,
    tls_handshake_failed,
    secure_connection_wanted, ///< the client wants TLS but the server does not offer it
    stale_connection,         ///< max pings out without a PONG
    max_payload_exceeded,     ///< headers + payload larger than the server's max_payload
    headers_not_supported,    ///< the server does not support headers
    reconnect_buffer_exceeded,
    pending_buffer_exceeded,  ///< the outbound buffer is full while connected (server too slow)
    // requests and subscriptions
    timeout,
    no_responders,            ///< 503: nobody is subscribed to the request subject
    slow_consumer,            ///< a subscription's pending limit was reached; messages dropped
    draining,
    invalid_url,
    /// refused before writing: the PUB/HPUB/SUB control line (subject, reply, queue) would be
    /// longer than the server's max_control_line, and the server would close the connection
    control_line_exceeded,
};

/// Normalised classes of the server's `-ERR` messages (ADR-40 catalogue).
enum class server_errc
{
    unknown = 1,
    authorization_violation,
    authentication_expired,
    authentication_revoked,
    permissions_violation,
    max_subscriptions_exceeded,
    max_connections_exceeded,
    max_payload_violation,
    authentication_timeout,
    stale_connection,
    secure_connection_required,
    unknown_protocol_operation,
    parser_error,
    max_control_line_exceeded,
    invalid_subject,
    no_responders_requires_headers,
};

const std::error_category& client_category() noexcept;
const std::error_category& server_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), client_category()}; }
inline std::error_code make_error_code(server_errc e) noexcept
{
    return {static_cast<int>(e), server_category()};
}

/// Classifies the text of a `-ERR '...'` line (quotes and case do not matter).
server_errc classify_server_error(std::string_view text) noexcept;

/// What the client does after a server `-ERR`.
enum class server_error_action
{
    report,    ///< non-fatal: the connection stays up (permissions, max subscriptions, invalid subject)
    reconnect, ///< drop this connection and reconnect (stale, max connections, auth errors)
    close,     ///< the server closes the connection: reconnect, counting it as a protocol failure
};
server_error_action action_for(server_errc e) noexcept;

/// Authentication errors: the same one twice in a row on one server stops reconnecting to it.
bool is_auth_error(server_errc e) noexcept;

} // namespace beamline::nats

template <>
struct std::is_error_code_enum<beamline::nats::errc> : std::true_type
{
};
template <>
struct std::is_error_code_enum<beamline::nats::server_errc> : std::true_type
{
};
