// Listening addresses and NATS server URLs: one parser for the configuration, the HTTP server and
// the NATS client, so a value the configuration accepts is one every component accepts.

#include <beamline/common/address.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace beamline::common;

BOOST_AUTO_TEST_SUITE(common_listen_address)

BOOST_AUTO_TEST_CASE(valid_listen_addresses)
{
    struct vector
    {
        std::string text;
        host_port expected;
    };
    const std::vector<vector> vectors = {
        {"0.0.0.0:8080", {"0.0.0.0", 8080}}, {"127.0.0.1:0", {"127.0.0.1", 0}},
        {"[::1]:8080", {"::1", 8080}},       {":0", {"0.0.0.0", 0}},
        {"*:9090", {"0.0.0.0", 9090}},       {"localhost:65535", {"localhost", 65535}},
        {" 10.1.2.3:80 ", {"10.1.2.3", 80}},
    };
    for (const auto& v : vectors)
    {
        auto r = parse_listen_address(v.text);
        BOOST_TEST_REQUIRE(r.ok(), v.text << ": " << (r.ok() ? "" : r.error()));
        BOOST_TEST((r.value() == v.expected), v.text);
    }
    BOOST_TEST(to_string(host_port{"::1", 80}) == "[::1]:80");
    BOOST_TEST(to_string(host_port{"0.0.0.0", 8080}) == "0.0.0.0:8080");
}

BOOST_AUTO_TEST_CASE(invalid_listen_addresses_name_the_cause)
{
    struct vector
    {
        std::string text;
        std::string cause;
    };
    const std::vector<vector> vectors = {
        {"8080", "missing port"},
        {"localhost", "missing port"},
        {"host:", "port \"\" is not a number from 0 to 65535"},
        {"1.2.3.4:99999", "port \"99999\" is not a number from 0 to 65535"},
        {"example.com:80", "host \"example.com\" is not an IP address"},
        {"1.2.3.4.5:80", "is not host:port"},
        {"[::1:80", "an IPv6 address is written [address]:port"},
        {"::1:80", "is not host:port"},
        {"user@1.2.3.4:80", "is not host:port"},
        {"", "missing port"},
    };
    for (const auto& v : vectors)
    {
        auto r = parse_listen_address(v.text);
        BOOST_TEST_REQUIRE(!r.ok(), v.text);
        BOOST_TEST(r.error().find(v.cause) != std::string::npos, v.text << ": " << r.error());
        BOOST_TEST(r.error().find("listen address") == 0u, r.error());
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(common_server_url)

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
        {"nats://nats_1.internal.:4222", "nats_1.internal.", 4222, false, "", "", false,
         "nats://nats_1.internal.:4222"},
    };
    for (const auto& v : vectors)
    {
        BOOST_TEST_CONTEXT(v.text)
        {
            auto r = parse_server_url(v.text);
            BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.error()));
            const server_url& u = r.value();
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

BOOST_AUTO_TEST_CASE(invalid_urls_name_the_cause)
{
    struct vector
    {
        std::string text;
        std::string cause;
    };
    const std::vector<vector> vectors = {
        {"", "empty"},
        {"   ", "empty"},
        {"http://h:4222", "has scheme \"http\"; use nats:// or tls://"},
        {"nats://", "has no host"},
        {"nats://:4222", "has no host"},
        {"nats://127.0.0.1:0", "port 0 is not a server port (1 to 65535)"},
        {"nats://h:65536", "port \"65536\" is not a number from 1 to 65535"},
        {"nats://h:abc", "port \"abc\" is not a number from 1 to 65535"},
        {"nats://h:4222/path", "has a path"},
        {"nats://h:4222?x=1", "has a query"},
        {"nats://h!st:4222", "host \"h!st\" is not a host name"},
        {"nats://a..b:4222", "is not a host name"},
        {"nats://h%41:4222", "is not a host name"},
        {"nats://exa mple:4222", "is not a URL"},
    };
    for (const auto& v : vectors)
    {
        auto r = parse_server_url(v.text);
        BOOST_TEST_REQUIRE(!r.ok(), v.text);
        BOOST_TEST(r.error().find(v.cause) != std::string::npos, v.text << ": " << r.error());
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(common_host_port)

BOOST_AUTO_TEST_CASE(peer_addresses_allow_host_names)
{
    auto r = parse_host_port("nats-1.example:8222");
    BOOST_TEST_REQUIRE(r.ok());
    BOOST_TEST((r.value() == host_port{"nats-1.example", 8222}));
    BOOST_TEST((parse_host_port("[::1]:80").value() == host_port{"::1", 80}));
    BOOST_TEST((parse_host_port(":8222").value() == host_port{"", 8222}));
    for (std::string_view bad : {"host", "h!st:80", "host:99999", "user@h:80", ""})
        BOOST_TEST(!parse_host_port(bad).ok(), bad);
}

BOOST_AUTO_TEST_SUITE_END()
