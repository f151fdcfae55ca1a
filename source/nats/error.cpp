#include "beamline/nats/error.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace beamline::nats
{
namespace
{

class client_category_impl final : public std::error_category
{
public:
    const char* name() const noexcept override { return "nats.client"; }
    std::string message(int ev) const override
    {
        switch (static_cast<errc>(ev))
        {
        case errc::protocol_error: return "protocol error: unexpected bytes from the server";
        case errc::control_line_too_long: return "protocol error: control line longer than 4096 bytes";
        case errc::invalid_arguments: return "protocol error: invalid message arguments";
        case errc::invalid_info: return "protocol error: INFO is not valid JSON";
        case errc::invalid_headers: return "invalid header block";
        case errc::invalid_subject: return "invalid subject";
        case errc::invalid_header_key: return "invalid header key";
        case errc::not_connected: return "not connected";
        case errc::connection_closed: return "connection closed";
        case errc::disconnected: return "disconnected while the operation was pending";
        case errc::no_servers: return "no server available";
        case errc::connect_timeout: return "connect timed out";
        case errc::tls_handshake_failed: return "TLS handshake failed";
        case errc::secure_connection_wanted: return "TLS wanted but the server does not offer it";
        case errc::stale_connection: return "stale connection: no PONG from the server";
        case errc::max_payload_exceeded: return "message larger than the server's max_payload";
        case errc::headers_not_supported: return "the server does not support headers";
        case errc::reconnect_buffer_exceeded: return "reconnect buffer full";
        case errc::pending_buffer_exceeded: return "outbound buffer full";
        case errc::timeout: return "timed out";
        case errc::no_responders: return "no responders";
        case errc::slow_consumer: return "slow consumer: messages dropped";
        case errc::draining: return "draining";
        case errc::invalid_url: return "invalid server URL";
        case errc::control_line_exceeded:
            return "subject too long: the control line would exceed the server's 4096-byte max_control_line";
        }
        return "unknown NATS client error";
    }
};

class server_category_impl final : public std::error_category
{
public:
    const char* name() const noexcept override { return "nats.server"; }
    std::string message(int ev) const override
    {
        switch (static_cast<server_errc>(ev))
        {
        case server_errc::unknown: return "server error";
        case server_errc::authorization_violation: return "authorization violation";
        case server_errc::authentication_expired: return "authentication expired";
        case server_errc::authentication_revoked: return "authentication revoked";
        case server_errc::permissions_violation: return "permissions violation";
        case server_errc::max_subscriptions_exceeded: return "maximum subscriptions exceeded";
        case server_errc::max_connections_exceeded: return "maximum connections exceeded";
        case server_errc::max_payload_violation: return "maximum payload violation";
        case server_errc::authentication_timeout: return "authentication timeout";
        case server_errc::stale_connection: return "stale connection (server side)";
        case server_errc::secure_connection_required: return "secure connection - TLS required";
        case server_errc::unknown_protocol_operation: return "unknown protocol operation";
        case server_errc::parser_error: return "server parser error";
        case server_errc::max_control_line_exceeded: return "maximum control line exceeded";
        case server_errc::invalid_subject: return "invalid subject";
        case server_errc::no_responders_requires_headers: return "no responders requires headers support";
        }
        return "server error";
    }
};

std::string normalise(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\'' || text.front() == '"'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\'' || text.back() == '"' ||
                             text.back() == '\r' || text.back() == '\n'))
        text.remove_suffix(1);
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

} // namespace

const std::error_category& client_category() noexcept
{
    static const client_category_impl instance;
    return instance;
}

const std::error_category& server_category() noexcept
{
    static const server_category_impl instance;
    return instance;
}

server_errc classify_server_error(std::string_view text) noexcept
{
    std::string t;
    try
    {
        t = normalise(text);
    }
    catch (...)
    {
        return server_errc::unknown;
    }
    if (t == "stale connection") return server_errc::stale_connection;
    if (starts_with(t, "maximum connections exceeded") || starts_with(t, "maximum account active connections") ||
        starts_with(t, "connection throttling"))
        return server_errc::max_connections_exceeded;
    if (starts_with(t, "permissions violation")) return server_errc::permissions_violation;
    if (starts_with(t, "maximum subscriptions exceeded")) return server_errc::max_subscriptions_exceeded;
    if (starts_with(t, "authorization violation")) return server_errc::authorization_violation;
    if (starts_with(t, "user authentication expired") || starts_with(t, "account authentication expired"))
        return server_errc::authentication_expired;
    if (starts_with(t, "user authentication revoked")) return server_errc::authentication_revoked;
    if (starts_with(t, "secure connection")) return server_errc::secure_connection_required;
    if (starts_with(t, "maximum payload")) return server_errc::max_payload_violation;
    if (starts_with(t, "authentication timeout")) return server_errc::authentication_timeout;
    if (starts_with(t, "unknown protocol operation")) return server_errc::unknown_protocol_operation;
    if (starts_with(t, "parser error") || starts_with(t, "invalid client protocol"))
        return server_errc::parser_error;
    if (starts_with(t, "maximum control line exceeded")) return server_errc::max_control_line_exceeded;
    if (starts_with(t, "invalid subject") || starts_with(t, "invalid publish subject"))
        return server_errc::invalid_subject;
    if (starts_with(t, "no responders requires headers")) return server_errc::no_responders_requires_headers;
    return server_errc::unknown;
}

server_error_action action_for(server_errc e) noexcept
{
    switch (e)
    {
    case server_errc::permissions_violation:
    case server_errc::max_subscriptions_exceeded:
    case server_errc::invalid_subject: return server_error_action::report;
    case server_errc::stale_connection:
    case server_errc::max_connections_exceeded:
    case server_errc::authorization_violation:
    case server_errc::authentication_expired:
    case server_errc::authentication_revoked: return server_error_action::reconnect;
    default: return server_error_action::close;
    }
}

bool is_auth_error(server_errc e) noexcept
{
    return e == server_errc::authorization_violation || e == server_errc::authentication_expired ||
           e == server_errc::authentication_revoked;
}

} // namespace beamline::nats
