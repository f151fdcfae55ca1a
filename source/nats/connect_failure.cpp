#include "beamline/nats/connect_failure.hpp"

#include "beamline/nats/error.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>

namespace beamline::nats
{

namespace asio = boost::asio;

namespace
{
bool is(const std::error_code& ec, boost::system::error_code what) { return ec == std::error_code(what); }

/// A TLS server that refuses our certificate closes the stream during or right after the handshake.
bool closed_by_peer(const std::error_code& ec)
{
    return is(ec, asio::error::eof) || is(ec, asio::error::connection_reset) || is(ec, asio::ssl::error::stream_truncated);
}


connect_failure_reason reason_of(const connect_attempt_facts& f, const std::error_code& named)
{
    if (f.timed_out) return connect_failure_reason::timeout;
    if (named == errc::tls_handshake_failed || named == errc::secure_connection_wanted ||
        named == make_error_code(server_errc::secure_connection_required))
        return connect_failure_reason::tls;
    if (named.category() == server_category() &&
        (is_auth_error(static_cast<server_errc>(named.value())) ||
         named == make_error_code(server_errc::authentication_timeout)))
        return connect_failure_reason::auth;
    if (is(named, asio::error::connection_refused)) return connect_failure_reason::refused;
    return connect_failure_reason::other;
}

connect_failure describe(const connect_attempt_facts& f)
{
    const std::string where(f.where);
    if (f.timed_out)
        return {errc::connect_timeout,
                "connect to " + where + " timed out after " + std::to_string(f.timeout.count()) + "ms"};
    if (f.ec.category() == server_category())
        return {f.ec, "server " + where + " refused the connection: '" + std::string(f.server_error_text) + "'"};
    if (f.tls_step_failed || (f.tls_active && f.ec.category() == asio::error::get_ssl_category()))
        return {errc::tls_handshake_failed, "TLS handshake failed: " + describe_error(f.ec) + " (" + where + ")"};
    if (f.ec == errc::secure_connection_wanted) return {f.ec, "TLS wanted but " + where + " does not offer it"};
    if (f.tls_active && closed_by_peer(f.ec))
        return {errc::tls_handshake_failed,
                "TLS handshake failed: the server closed the connection (client certificate refused?) (" + where + ")"};
    return {f.ec, describe_error(f.ec) + " (" + where + ")"};
}
} // namespace

std::string_view to_string(connect_failure_reason r) noexcept
{
    switch (r)
    {
    case connect_failure_reason::tls: return "tls";
    case connect_failure_reason::auth: return "auth";
    case connect_failure_reason::refused: return "refused";
    case connect_failure_reason::timeout: return "timeout";
    case connect_failure_reason::stale: return "stale";
    case connect_failure_reason::other: return "other";
    }
    return "other";
}

connect_failure describe_connect_failure(const connect_attempt_facts& f)
{
    auto failure = describe(f);
    failure.reason = reason_of(f, failure.ec);
    return failure;
}

std::string describe_error(const std::error_code& ec)
{
    if (ec.category() == asio::error::get_ssl_category())
    {
        const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
        return reason ? std::string(reason) : ec.message();
    }
    if (is(ec, asio::ssl::error::stream_truncated)) return "TLS stream truncated (peer closed without close_notify)";
    return ec.message();
}

} // namespace beamline::nats
