// The words of a failed connection attempt, from the facts alone: no socket, no server.

#include <beamline/nats/connect_failure.hpp>
#include <beamline/nats/error.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/test/unit_test.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <ostream>

using namespace beamline::nats;
namespace asio = boost::asio;

namespace beamline::nats
{
std::ostream& operator<<(std::ostream& os, connect_failure_reason r) { return os << to_string(r); }
} // namespace beamline::nats
using namespace std::chrono_literals;

namespace
{
connect_attempt_facts facts(std::error_code ec, std::string_view where = "tls://127.0.0.1:4222")
{
    connect_attempt_facts f;
    f.ec = ec;
    f.where = where;
    f.timeout = 2000ms;
    return f;
}
std::error_code from(boost::system::error_code ec) { return ec; }
} // namespace

BOOST_AUTO_TEST_SUITE(connect_failure_wording)

BOOST_AUTO_TEST_CASE(a_refused_tcp_connection_names_the_server)
{
    auto r = describe_connect_failure(facts(from(asio::error::connection_refused), "nats://127.0.0.1:4222"));
    BOOST_TEST(r.ec == from(asio::error::connection_refused));
    BOOST_TEST(r.text == "Connection refused (nats://127.0.0.1:4222)");
    BOOST_TEST(r.reason == connect_failure_reason::refused);
}

BOOST_AUTO_TEST_CASE(the_deadline_wins_over_the_error_of_the_socket_it_closed)
{
    auto f = facts(from(asio::error::operation_aborted));
    f.timed_out = true;
    auto r = describe_connect_failure(f);
    BOOST_TEST(r.ec == make_error_code(errc::connect_timeout));
    BOOST_TEST(r.text == "connect to tls://127.0.0.1:4222 timed out after 2000ms");
    BOOST_TEST(r.reason == connect_failure_reason::timeout);
}

BOOST_AUTO_TEST_CASE(a_server_err_keeps_its_class_and_quotes_its_text)
{
    auto f = facts(make_error_code(server_errc::authorization_violation));
    f.server_error_text = "Authorization Violation";
    auto r = describe_connect_failure(f);
    BOOST_TEST(r.ec == make_error_code(server_errc::authorization_violation));
    BOOST_TEST(r.text == "server tls://127.0.0.1:4222 refused the connection: 'Authorization Violation'");
    BOOST_TEST(r.reason == connect_failure_reason::auth);
}

BOOST_AUTO_TEST_CASE(each_failure_falls_in_one_bounded_reason)
{
    for (auto e : {server_errc::authentication_expired, server_errc::authentication_revoked,
                   server_errc::authentication_timeout})
        BOOST_TEST(describe_connect_failure(facts(make_error_code(e))).reason == connect_failure_reason::auth);
    BOOST_TEST(describe_connect_failure(facts(make_error_code(server_errc::secure_connection_required))).reason ==
               connect_failure_reason::tls);
    BOOST_TEST(describe_connect_failure(facts(make_error_code(server_errc::max_connections_exceeded))).reason ==
               connect_failure_reason::other);
    BOOST_TEST(describe_connect_failure(facts(from(asio::error::host_unreachable))).reason ==
               connect_failure_reason::other);
    BOOST_TEST(to_string(connect_failure_reason::stale) == "stale");
}

BOOST_AUTO_TEST_CASE(a_failed_tls_step_says_why_in_openssls_words)
{
    // An OpenSSL error code as Asio reports it: the reason text comes from the library (its
    // strings are loaded with the first TLS context, as in the client).
    OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, nullptr);
    auto ssl_ec = std::error_code(static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_CERTIFICATE_VERIFY_FAILED)),
                                  asio::error::get_ssl_category());
    auto f = facts(ssl_ec);
    f.tls_step_failed = true;
    auto r = describe_connect_failure(f);
    BOOST_TEST(r.ec == make_error_code(errc::tls_handshake_failed));
    BOOST_TEST(r.text == "TLS handshake failed: certificate verify failed (tls://127.0.0.1:4222)");
    BOOST_TEST(r.reason == connect_failure_reason::tls);
    // The same error after the TLS step (while the stream is TLS) is still the handshake's.
    f.tls_step_failed = false;
    f.tls_active = true;
    BOOST_TEST(describe_connect_failure(f).ec == make_error_code(errc::tls_handshake_failed));
}

BOOST_AUTO_TEST_CASE(a_tls_server_closing_on_us_suggests_a_refused_client_certificate)
{
    for (auto ec : {from(asio::error::eof), from(asio::error::connection_reset), from(asio::ssl::error::stream_truncated)})
    {
        auto f = facts(ec);
        f.tls_active = true;
        auto r = describe_connect_failure(f);
        BOOST_TEST(r.ec == make_error_code(errc::tls_handshake_failed));
        BOOST_TEST(r.text.find("the server closed the connection (client certificate refused?)") != std::string::npos);
        BOOST_TEST(r.reason == connect_failure_reason::tls);
        // Over plain TCP the same close is only a close.
        f.tls_active = false;
        BOOST_TEST(describe_connect_failure(f).ec == ec);
    }
}

BOOST_AUTO_TEST_CASE(tls_wanted_but_not_offered)
{
    auto r = describe_connect_failure(facts(make_error_code(errc::secure_connection_wanted), "nats://h:4222"));
    BOOST_TEST(r.ec == make_error_code(errc::secure_connection_wanted));
    BOOST_TEST(r.text == "TLS wanted but nats://h:4222 does not offer it");
    BOOST_TEST(r.reason == connect_failure_reason::tls);
}

BOOST_AUTO_TEST_CASE(describe_error_names_a_truncated_tls_stream)
{
    BOOST_TEST(describe_error(from(asio::ssl::error::stream_truncated)) ==
               "TLS stream truncated (peer closed without close_notify)");
}

BOOST_AUTO_TEST_SUITE_END()
