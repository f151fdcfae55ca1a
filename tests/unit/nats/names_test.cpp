// Server URLs and server errors: what the client accepts before anything reaches the wire, and how
// it reads what the server says. (Subject rules are common/subject, tested in unit_common.)

#include <beamline/nats/error.hpp>
#include <beamline/nats/options.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace beamline::nats;

BOOST_AUTO_TEST_SUITE(nats_server_url)

BOOST_AUTO_TEST_CASE(valid_urls_are_the_common_parse)
{
    // The grammar is common/address's (unit_common); the client keeps what it parsed.
    server_url u;
    BOOST_TEST_REQUIRE(!parse_server_url("tls://user:p%40ss@[::1]:4443", u));
    BOOST_TEST(u.host == "::1");
    BOOST_TEST(u.port == 4443);
    BOOST_TEST(u.tls);
    BOOST_TEST(u.password == "p@ss");
    BOOST_TEST(u.to_string() == "tls://[::1]:4443");
}

BOOST_AUTO_TEST_CASE(invalid_urls)
{
    for (std::string_view text : {"", "   ", "http://h:4222", "nats://", "nats://:4222", "nats://h:0",
                                  "nats://h:65536", "nats://h:abc", "nats://h:4222/path"})
    {
        server_url u;
        u.host = "untouched";
        auto ec = parse_server_url(text, u);
        BOOST_TEST(ec == make_error_code(errc::invalid_url), text);
        BOOST_TEST(u.host == "untouched");
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(nats_server_errors)

BOOST_AUTO_TEST_CASE(classification)
{
    struct vector
    {
        std::string text;
        server_errc expected;
    };
    const std::vector<vector> vectors = {
        {"'Stale Connection'", server_errc::stale_connection},
        {"Maximum Connections Exceeded", server_errc::max_connections_exceeded},
        {"maximum account active connections exceeded", server_errc::max_connections_exceeded},
        {"Connection throttling is active. Please try again later.", server_errc::max_connections_exceeded},
        {"'Permissions Violation for Publish to \"foo\"'", server_errc::permissions_violation},
        {"Permissions Violation for Subscription to \"bar\" using queue \"q\"",
         server_errc::permissions_violation},
        {"Maximum Subscriptions Exceeded", server_errc::max_subscriptions_exceeded},
        {"'Authorization Violation'", server_errc::authorization_violation},
        {"User Authentication Expired", server_errc::authentication_expired},
        {"Account Authentication Expired", server_errc::authentication_expired},
        {"User Authentication Revoked", server_errc::authentication_revoked},
        {"Secure Connection - TLS Required", server_errc::secure_connection_required},
        {"Maximum Payload Violation", server_errc::max_payload_violation},
        {"Authentication Timeout", server_errc::authentication_timeout},
        {"Unknown Protocol Operation", server_errc::unknown_protocol_operation},
        {"Parser Error", server_errc::parser_error},
        {"invalid client protocol", server_errc::parser_error},
        {"Maximum Control Line Exceeded", server_errc::max_control_line_exceeded},
        {"Invalid Subject", server_errc::invalid_subject},
        {"Invalid Publish Subject", server_errc::invalid_subject},
        {"no responders requires headers support", server_errc::no_responders_requires_headers},
        {"Something New", server_errc::unknown},
        {"", server_errc::unknown},
    };
    for (const auto& v : vectors)
        BOOST_TEST((classify_server_error(v.text) == v.expected), v.text);
}

BOOST_AUTO_TEST_CASE(actions)
{
    using enum server_error_action;
    struct vector
    {
        server_errc e;
        server_error_action action;
        bool auth;
    };
    const std::vector<vector> vectors = {
        {server_errc::permissions_violation, report, false},
        {server_errc::max_subscriptions_exceeded, report, false},
        {server_errc::invalid_subject, report, false},
        {server_errc::stale_connection, reconnect, false},
        {server_errc::max_connections_exceeded, reconnect, false},
        {server_errc::authorization_violation, reconnect, true},
        {server_errc::authentication_expired, reconnect, true},
        {server_errc::authentication_revoked, reconnect, true},
        {server_errc::max_payload_violation, close, false},
        {server_errc::authentication_timeout, close, false},
        {server_errc::unknown_protocol_operation, close, false},
        {server_errc::unknown, close, false},
    };
    for (const auto& v : vectors)
    {
        BOOST_TEST_CONTEXT(make_error_code(v.e).message())
        {
            BOOST_TEST((action_for(v.e) == v.action));
            BOOST_TEST(is_auth_error(v.e) == v.auth);
        }
    }
    BOOST_TEST(make_error_code(server_errc::authorization_violation).message() == "authorization violation");
    BOOST_TEST(std::string(make_error_code(server_errc::unknown).category().name()) == "nats.server");
}

BOOST_AUTO_TEST_SUITE_END()
