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
} // namespace

connect_failure describe_connect_failure(const connect_attempt_facts& f)
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
