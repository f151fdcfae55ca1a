// The project's NATS client against real nats-servers that require TLS, mutual TLS, a user and
// password or a token: what connects, what is refused, the words a user sees when it is refused,
// and that refused credentials do not turn into a storm of reconnects.
#include "client_harness.hpp"

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>
using namespace beamline::test;
using namespace std::chrono_literals;
namespace nats = beamline::nats;

namespace
{

// Connection attempts the server refused for bad credentials, from its log.
std::size_t refused_attempts(const nats_server& server)
{
    std::string log = server.log();
    std::size_t count = 0;
    for (auto at = log.find("authentication error"); at != std::string::npos;
         at = log.find("authentication error", at + 1))
        ++count;
    return count;
}

// After the same authorization error twice the client closes for good: no third attempt follows.
void expect_gave_up_after_two_refusals(const nats_server& server, const nats::client& c,
                                       const std::atomic<int>& closed_events)
{
    BOOST_TEST(eventually([&] { return c.state() == nats::connection_state::closed; }, 15s),
               "state " << c.state() << ": " << c.last_error_text());
    BOOST_TEST((c.last_error() == nats::server_errc::authorization_violation), c.last_error_text());
    BOOST_TEST(c.last_error_text().find("'Authorization Violation'") != std::string::npos,
               c.last_error_text());
    BOOST_TEST(eventually([&] { return closed_events.load() == 1; }, 2s));
    auto attempts = refused_attempts(server);
    BOOST_TEST(attempts == 2u);
    std::this_thread::sleep_for(1s);
    BOOST_TEST(refused_attempts(server) == attempts);
}

// Connects and exchanges one message through the server, on a subject of our own.
void expect_working_connection(io_runner& io, const nats::client_options& options)
{
    auto c = nats::client::create(io.executor(), options);
    auto ec = io.wait(c->connect());
    BOOST_TEST_REQUIRE(!ec, ec.message() + ": " + c->last_error_text());
    client_inbox inbox;
    nats::subscription_ptr sub;
    BOOST_TEST_REQUIRE(!c->subscribe("it.secure", {}, inbox.handler(), sub));
    BOOST_TEST_REQUIRE(!io.wait(c->flush(2s)));
    BOOST_TEST(!c->publish("it.secure", "secret"));
    auto got = inbox.wait_for(1, 5s);
    BOOST_TEST_REQUIRE(got.size() == 1u);
    BOOST_TEST(got[0].payload() == "secret");
    close_and_wait(*c);
}

// Connects and expects a refusal; returns the client (closed) for further checks.
std::shared_ptr<nats::client> expect_refused(io_runner& io, const nats::client_options& options,
                                             std::error_code expected, const std::string& text_part)
{
    auto c = nats::client::create(io.executor(), options);
    auto ec = io.wait(c->connect());
    BOOST_TEST((ec == expected), ec.message() + ": " + c->last_error_text());
    BOOST_TEST(c->last_error_text().find(text_part) != std::string::npos,
               "'" << c->last_error_text() << "' should contain '" << text_part << "'");
    return c;
}

} // namespace

BOOST_AUTO_TEST_SUITE(nats_client_security)

BOOST_AUTO_TEST_CASE(tls_server_verified_against_our_ca)
{
    nats_server server({.tls = tls_mode::server});
    io_runner io;
    auto options = client_options_for(server, client_identity::none);
    expect_working_connection(io, options);

    // The certificate names localhost as well as 127.0.0.1.
    auto by_name = options;
    by_name.tls.server_name = "localhost";
    expect_working_connection(io, by_name);
}

BOOST_AUTO_TEST_CASE(tls_server_signed_by_an_unknown_ca_is_refused_in_words)
{
    nats_server server({.tls = tls_mode::server});
    io_runner io;
    auto options = client_options_for(server, client_identity::none);
    options.tls.ca_file = server.certs().other_ca.string();
    auto c = expect_refused(io, options, nats::errc::tls_handshake_failed, "TLS handshake failed: ");
    BOOST_TEST(c->last_error_text().find("certificate verify failed") != std::string::npos,
               c->last_error_text());
    BOOST_TEST(c->state() == nats::connection_state::closed);
}

BOOST_AUTO_TEST_CASE(tls_server_under_another_name_is_refused)
{
    nats_server server({.tls = tls_mode::server});
    io_runner io;
    auto options = client_options_for(server, client_identity::none);
    options.tls.server_name = "not-this-server.example";
    expect_refused(io, options, nats::errc::tls_handshake_failed, "TLS handshake failed: ");
}

BOOST_AUTO_TEST_CASE(plain_client_wanting_tls_from_a_plain_server_is_refused)
{
    nats_server server;
    io_runner io;
    auto options = client_options_for(server);
    options.require_tls = true;
    expect_refused(io, options, nats::errc::secure_connection_wanted, "does not offer it");
}

BOOST_AUTO_TEST_CASE(mutual_tls_accepts_our_client_certificate)
{
    nats_server server({.tls = tls_mode::mutual});
    io_runner io;
    expect_working_connection(io, client_options_for(server, client_identity::ours));
}

BOOST_AUTO_TEST_CASE(mutual_tls_without_a_client_certificate_fails_with_a_tls_error)
{
    nats_server server({.tls = tls_mode::mutual});
    io_runner io;
    auto c = expect_refused(io, client_options_for(server, client_identity::none),
                            nats::errc::tls_handshake_failed, "TLS handshake failed: ");
    BOOST_TEST(c->state() == nats::connection_state::closed);
}

BOOST_AUTO_TEST_CASE(mutual_tls_with_a_certificate_from_another_ca_fails_with_a_tls_error)
{
    nats_server server({.tls = tls_mode::mutual});
    io_runner io;
    expect_refused(io, client_options_for(server, client_identity::other_ca),
                   nats::errc::tls_handshake_failed, "TLS handshake failed: ");
}

BOOST_AUTO_TEST_CASE(mutual_tls_connection_is_renegotiated_after_a_server_restart)
{
    nats_server server({.tls = tls_mode::mutual});
    io_runner io;
    auto options = client_options_for(server, client_identity::ours);
    options.reconnect_wait = 200ms;
    options.reconnect_jitter_tls = 100ms;
    std::atomic<int> reconnected{0};
    nats::client_events events;
    events.reconnected = [&] { ++reconnected; };
    auto c = connected_client(io, options, events);
    client_inbox inbox;
    nats::subscription_ptr sub;
    BOOST_TEST_REQUIRE(!c->subscribe("it.secure.again", {}, inbox.handler(), sub));
    BOOST_TEST_REQUIRE(!io.wait(c->flush(2s)));

    server.stop();
    server.start();
    BOOST_TEST(eventually([&] { return reconnected.load() == 1 && c->connected(); }, 10s),
               "state " << c->state() << ": " << c->last_error_text());
    libnats_peer peer(options_for(server));
    BOOST_TEST_REQUIRE(peer.connected(), peer.error());
    BOOST_TEST(peer.publish("it.secure.again", "over a new TLS session") == NATS_OK);
    auto got = inbox.wait_for(1, 5s);
    BOOST_TEST_REQUIRE(got.size() == 1u);
    BOOST_TEST(got[0].payload() == "over a new TLS session");
    close_and_wait(*c);
}

BOOST_AUTO_TEST_CASE(user_and_password_are_accepted_from_options_or_url)
{
    nats_server server({.user = "router", .password = "p@ss word"});
    io_runner io;
    expect_working_connection(io, client_options_for(server));

    // Reserved characters of the password are percent-encoded in the URL.
    nats::client_options from_url;
    from_url.servers = {"nats://router:p%40ss%20word@127.0.0.1:" + std::to_string(server.port())};
    expect_working_connection(io, from_url);
}

BOOST_AUTO_TEST_CASE(token_is_accepted_from_options_or_url)
{
    nats_server server({.token = "s3cr3t-token"});
    io_runner io;
    expect_working_connection(io, client_options_for(server));

    nats::client_options from_url;
    from_url.servers = {server.url_with_credentials()};
    expect_working_connection(io, from_url);
}

BOOST_AUTO_TEST_CASE(wrong_password_is_refused_clearly_without_retrying)
{
    nats_server server({.user = "router", .password = "right"});
    io_runner io;
    auto options = client_options_for(server);
    options.password = "wrong";
    auto c = expect_refused(io, options, nats::server_errc::authorization_violation,
                            "refused the connection: 'Authorization Violation'");
    BOOST_TEST(c->last_error_text().find(server.url()) != std::string::npos, c->last_error_text());
    BOOST_TEST(eventually([&] { return c->state() == nats::connection_state::closed; }, 2s));
    std::this_thread::sleep_for(2s); // room for a storm, were there one
    BOOST_TEST(refused_attempts(server) == 1u);
    BOOST_TEST(c->state() == nats::connection_state::closed);
}

BOOST_AUTO_TEST_CASE(wrong_token_retried_in_background_stops_after_the_same_auth_error_twice)
{
    nats_server server({.token = "right"});
    io_runner io;
    std::atomic<int> closed_events{0};
    nats::client_events events;
    events.closed = [&](std::error_code) { ++closed_events; };
    auto options = client_options_for(server);
    options.token = "wrong";
    options.retry_on_failed_connect = true;
    options.reconnect_wait = 300ms;
    auto c = nats::client::create(io.executor(), options, events);
    auto ec = io.wait(c->connect());
    BOOST_TEST((ec == nats::server_errc::authorization_violation),
               ec.message() + ": " + c->last_error_text());
    BOOST_TEST(c->last_error_text().find("refused the connection: 'Authorization Violation'") !=
                   std::string::npos,
               c->last_error_text());
    expect_gave_up_after_two_refusals(server, *c, closed_events);
}

BOOST_AUTO_TEST_CASE(token_rotated_while_disconnected_stops_reconnecting_after_two_refusals)
{
    nats_server server({.token = "before"});
    io_runner io;
    std::atomic<int> closed_events{0};
    nats::client_events events;
    events.closed = [&](std::error_code) { ++closed_events; };
    auto options = client_options_for(server);
    options.reconnect_wait = 200ms;
    auto c = connected_client(io, options, events);

    // The server comes back on the same port expecting another token.
    server.stop();
    auto config_path = server.dir() / "nats-server.conf";
    std::stringstream config;
    config << std::ifstream(config_path).rdbuf();
    std::string text = config.str();
    auto at = text.find("\"before\"");
    BOOST_TEST_REQUIRE(at != std::string::npos);
    text.replace(at, 8, "\"after\"");
    std::ofstream(config_path, std::ios::trunc) << text;
    server.start();

    expect_gave_up_after_two_refusals(server, *c, closed_events);
}

BOOST_AUTO_TEST_SUITE_END()
