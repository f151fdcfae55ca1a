// Subjects, queue names and server URLs: what the client accepts before anything reaches the wire.

#include <beamline/nats/error.hpp>
#include <beamline/nats/options.hpp>
#include <beamline/nats/protocol/subject.hpp>
#include <boost/test/unit_test.hpp>
#include <random>
#include <string>
#include <vector>

using namespace beamline::nats;

BOOST_AUTO_TEST_SUITE(nats_subjects)

BOOST_AUTO_TEST_CASE(publish_subjects)
{
    for (std::string_view s : {"foo", "foo.bar", "foo.bar.baz", "_INBOX.abc.1", "a-b_c", "caf\xc3\xa9",
                               "foo.*bar", "$JS.API.INFO", "foo>", "a*b.c>", ">>", "x.**"})
        BOOST_TEST(valid_publish_subject(s), s);
    for (std::string_view s : {"", ".", "foo.", ".foo", "foo..bar", "foo bar", "foo\tbar", "foo\r\n",
                               "foo\x7f", "*", ">", "foo.*", "foo.>", "foo.*.bar", "*.foo", ">.foo", "foo.*.", "a\x01b"})
        BOOST_TEST(!valid_publish_subject(s), s);
}

BOOST_AUTO_TEST_CASE(subscribe_subjects)
{
    for (std::string_view s :
         {"foo", "foo.bar", "*", ">", "foo.*", "foo.>", "*.>", "foo.*.bar", "_INBOX.x.*"})
        BOOST_TEST(valid_subscribe_subject(s), s);
    for (std::string_view s : {"", ".", "foo.", "..", "foo..bar", "foo bar", "foo.>.bar", ">.foo", "foo>",
                               "foo.*bar", "foo.b*r", ">>", "foo\n", "foo.*.", "*.", "x.**", "a.>.", "a.>>"})
        BOOST_TEST(!valid_subscribe_subject(s), s);
}

namespace
{
// The rules spelled out token by token, to check the word-at-a-time validator against.
bool reference_valid(std::string_view s, bool wildcards)
{
    if (s.empty()) return false;
    std::vector<std::string_view> tokens;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= s.size(); ++i)
        if (i == s.size() || s[i] == '.')
        {
            tokens.push_back(s.substr(start, i - start));
            start = i + 1;
        }
    for (std::size_t t = 0; t < tokens.size(); ++t)
    {
        auto tok = tokens[t];
        if (tok.empty()) return false;
        for (char c : tok)
            if (static_cast<unsigned char>(c) <= 32 || c == 127) return false;
        bool wildcard = tok == "*" || tok == ">";
        if (wildcard && (!wildcards || (tok == ">" && t + 1 != tokens.size()))) return false;
        if (!wildcard && wildcards && tok.find_first_of("*>") != std::string_view::npos) return false;
    }
    return true;
}
} // namespace

BOOST_AUTO_TEST_CASE(validators_agree_with_the_rules_on_random_subjects)
{
    // Mostly letters and dots, some wildcards, spaces, controls, DEL and UTF-8 bytes, at lengths
    // around the 8-byte words the validator reads.
    const char alphabet[] = {'a', 'b', 'Z', '_', '-', '.', '.', '.', '*', '>', ' ', '\t', '\x7f', '\x01',
                             '\xc3', '\xa9', '0', '$'};
    std::mt19937 rng(12345);
    int valid[2] = {0, 0}, invalid[2] = {0, 0}; // per mode: publish, subscribe
    for (int round = 0; round < 200000; ++round)
    {
        std::size_t len = rng() % 26;
        std::string s;
        for (std::size_t i = 0; i < len; ++i)
            s.push_back(alphabet[rng() % sizeof alphabet]);
        for (bool wildcards : {false, true})
        {
            bool got = wildcards ? valid_subscribe_subject(s) : valid_publish_subject(s);
            if (got != reference_valid(s, wildcards))
                BOOST_FAIL("disagreement on \"" << s << "\" (wildcards " << wildcards << ")");
            ++(got ? valid : invalid)[wildcards];
        }
    }
    // The draw covers both answers in both modes, so agreement says something about each.
    for (int mode : {0, 1})
    {
        BOOST_TEST(valid[mode] > 1000, "mode " << mode << ": " << valid[mode] << " valid subjects drawn");
        BOOST_TEST(invalid[mode] > 1000, "mode " << mode << ": " << invalid[mode] << " invalid subjects drawn");
    }
}

BOOST_AUTO_TEST_CASE(queue_names)
{
    for (std::string_view q : {"workers", "q.group", "g-1_2"})
        BOOST_TEST(valid_queue_name(q), q);
    for (std::string_view q : {"", "a b", "a\tb", "a\r\n"})
        BOOST_TEST(!valid_queue_name(q), q);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(nats_server_url)

BOOST_AUTO_TEST_CASE(valid_urls)
{
    struct vector
    {
        std::string text;
        std::string host;
        std::uint16_t port;
        bool tls;
        std::string user;
        std::string password;
        bool has_password;
        std::string shown;
    };
    const std::vector<vector> vectors = {
        {"nats://localhost:4222", "localhost", 4222, false, "", "", false, "nats://localhost:4222"},
        {"tls://demo.nats.io:4443", "demo.nats.io", 4443, true, "", "", false, "tls://demo.nats.io:4443"},
        {"127.0.0.1:5222", "127.0.0.1", 5222, false, "", "", false, "nats://127.0.0.1:5222"},
        {"bare-host", "bare-host", 4222, false, "", "", false, "nats://bare-host:4222"},
        {"nats://user:pass@h:1", "h", 1, false, "user", "pass", true, "nats://h:1"},
        {"nats://user:p%40ss@h", "h", 4222, false, "user", "p@ss", true, "nats://h:4222"},
        {"nats://s3cr3t@h:4222", "h", 4222, false, "s3cr3t", "", false, "nats://h:4222"},
        {"nats://[::1]:4222", "::1", 4222, false, "", "", false, "nats://[::1]:4222"},
        {"[::1]", "::1", 4222, false, "", "", false, "nats://[::1]:4222"},
        {"  nats://h:4222/  ", "h", 4222, false, "", "", false, "nats://h:4222"},
    };
    for (const auto& v : vectors)
    {
        BOOST_TEST_CONTEXT(v.text)
        {
            server_url u;
            auto ec = parse_server_url(v.text, u);
            BOOST_TEST_REQUIRE(!ec, ec.message());
            BOOST_TEST(u.host == v.host);
            BOOST_TEST(u.port == v.port);
            BOOST_TEST(u.tls == v.tls);
            BOOST_TEST(u.user == v.user);
            BOOST_TEST(u.password == v.password);
            BOOST_TEST(u.has_password == v.has_password);
            // Credentials never show up in logs.
            BOOST_TEST(u.to_string() == v.shown);
        }
    }
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
