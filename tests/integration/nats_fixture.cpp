// The test fixture (a real nats-server per test, libnats as the peer) and the NATS operations
// scripts, exercised end to end against real servers.
#include "libnats_peer.hpp"
#include "nats_server.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>

using namespace beamline::test;
using namespace std::chrono_literals;

namespace
{

// A message that travels through the server from one peer to another, with a header.
void expect_round_trip(const nats_server& server, const peer_options& options)
{
    libnats_peer publisher(options);
    libnats_peer subscriber(options);
    BOOST_TEST_REQUIRE(publisher.connected(), publisher.error());
    BOOST_TEST_REQUIRE(subscriber.connected(), subscriber.error());
    message_collector inbox(subscriber, "fixture.round.trip");
    BOOST_TEST_REQUIRE(inbox.status() == NATS_OK);
    BOOST_TEST(publisher.publish("fixture.round.trip", "hello", {{"X-Tenant", "acme"}}) == NATS_OK);
    auto received = inbox.wait_for(1, 5s);
    BOOST_TEST_REQUIRE(received.size() == 1u);
    BOOST_TEST(received[0].data == "hello");
    BOOST_TEST_REQUIRE(received[0].headers.size() == 1u);
    BOOST_TEST(received[0].headers[0].first == "X-Tenant");
    BOOST_TEST(received[0].headers[0].second == "acme");
    BOOST_TEST(server.url().find(std::to_string(server.port())) != std::string::npos);
}

} // namespace

BOOST_AUTO_TEST_SUITE(nats_server_fixture)

BOOST_AUTO_TEST_CASE(plain_server_carries_messages_and_requests)
{
    nats_server server;
    BOOST_TEST(server.url().rfind("nats://127.0.0.1:", 0) == 0u);
    expect_round_trip(server, options_for(server));

    libnats_peer client(options_for(server));
    libnats_peer service(options_for(server));
    responder echo(service, "fixture.echo");
    BOOST_TEST_REQUIRE(echo.status() == NATS_OK);
    auto reply = client.request("fixture.echo", "ping-body", 2s);
    BOOST_TEST_REQUIRE(reply.has_value());
    BOOST_TEST(reply->data == "ping-body");
    BOOST_TEST(echo.served() == 1u);

    natsStatus failure = NATS_OK;
    BOOST_TEST(!client.request("fixture.nobody.listens", "x", 2s, &failure).has_value());
    BOOST_TEST(failure == NATS_NO_RESPONDERS);
}

BOOST_AUTO_TEST_CASE(tls_server_is_verified_by_the_client)
{
    nats_server server({.tls = tls_mode::server});
    BOOST_TEST(server.url().rfind("tls://127.0.0.1:", 0) == 0u);
    // No client certificate is needed when the server does not verify clients.
    expect_round_trip(server, options_for(server, client_identity::none));

    // A client that trusts another CA refuses the server.
    peer_options wrong_trust = options_for(server, client_identity::none);
    wrong_trust.ca_file = server.certs().other_ca.string();
    libnats_peer distrustful(wrong_trust);
    BOOST_TEST(!distrustful.connected());
    BOOST_TEST(distrustful.status() != NATS_OK);
}

BOOST_AUTO_TEST_CASE(mutual_tls_accepts_only_our_client_certificate)
{
    nats_server server({.tls = tls_mode::mutual});
    expect_round_trip(server, options_for(server, client_identity::ours));

    libnats_peer without_certificate(options_for(server, client_identity::none));
    BOOST_TEST(!without_certificate.connected());
    BOOST_TEST(without_certificate.status() != NATS_OK);

    libnats_peer other_ca(options_for(server, client_identity::other_ca));
    BOOST_TEST(!other_ca.connected());
    BOOST_TEST(other_ca.status() != NATS_OK);
}

BOOST_AUTO_TEST_CASE(user_password_authentication)
{
    nats_server server({.user = "router", .password = "s3cret"});
    expect_round_trip(server, options_for(server));

    peer_options in_url;
    in_url.url = server.url_with_credentials();
    BOOST_TEST(server.url_with_credentials().find("router:s3cret@") != std::string::npos);
    libnats_peer by_url(in_url);
    BOOST_TEST(by_url.connected(), by_url.error());

    peer_options wrong = options_for(server);
    wrong.password = "guess";
    wrong.max_reconnect = 0;
    libnats_peer refused(wrong);
    BOOST_TEST(!refused.connected());
    BOOST_TEST(refused.status() == NATS_CONNECTION_AUTH_FAILED);

    peer_options anonymous;
    anonymous.url = server.url();
    libnats_peer nobody(anonymous);
    BOOST_TEST(!nobody.connected());
}

BOOST_AUTO_TEST_CASE(token_authentication)
{
    nats_server server({.token = "t0ken"});
    expect_round_trip(server, options_for(server));

    peer_options wrong = options_for(server);
    wrong.token = "other";
    libnats_peer refused(wrong);
    BOOST_TEST(!refused.connected());
    BOOST_TEST(refused.status() == NATS_CONNECTION_AUTH_FAILED);
}

BOOST_AUTO_TEST_CASE(limits_and_jetstream_come_from_the_options)
{
    nats_server limited({.max_payload = 1024});
    libnats_peer peer(options_for(limited));
    BOOST_TEST_REQUIRE(peer.connected(), peer.error());
    BOOST_TEST(natsConnection_GetMaxPayload(peer.get()) == 1024);
    BOOST_TEST(peer.publish("fixture.big", std::string(2000, 'x')) == NATS_MAX_PAYLOAD);
    // Without JetStream nobody answers the JetStream API.
    natsStatus failure = NATS_OK;
    BOOST_TEST(!peer.request("$JS.API.INFO", "", 2s, &failure).has_value());
    BOOST_TEST(failure == NATS_NO_RESPONDERS);

    nats_server with_jetstream({.jetstream = true});
    libnats_peer js_peer(options_for(with_jetstream));
    BOOST_TEST_REQUIRE(js_peer.connected(), js_peer.error());
    auto info = js_peer.request("$JS.API.INFO", "", 5s);
    BOOST_TEST_REQUIRE(info.has_value());
    BOOST_TEST(info->data.find("io.nats.jetstream.api.v1.account_info_response") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(stop_and_start_on_the_same_port_lets_the_client_reconnect)
{
    nats_server server;
    const auto port = server.port();
    libnats_peer peer(options_for(server));
    BOOST_TEST_REQUIRE(peer.connected(), peer.error());

    server.stop();
    BOOST_TEST(!server.running());
    BOOST_TEST(peer.wait_disconnected(5s));

    server.start();
    BOOST_TEST(server.port() == port);
    BOOST_TEST_REQUIRE(peer.wait_connected(10s));
    BOOST_TEST(eventually([&] { return peer.reconnects() >= 1u; }, 5s));
    BOOST_TEST(peer.flush() == NATS_OK);

    server.kill();
    BOOST_TEST(!server.running());
    BOOST_TEST(peer.wait_disconnected(5s));
    server.start();
    BOOST_TEST(peer.wait_connected(10s));
}

BOOST_AUTO_TEST_CASE(a_frozen_server_makes_the_connection_stale_until_thawed)
{
    nats_server server;
    peer_options options = options_for(server);
    options.ping_interval = 100ms;
    options.max_pings_out = 2;
    libnats_peer peer(options);
    BOOST_TEST_REQUIRE(peer.connected(), peer.error());

    server.freeze();
    BOOST_TEST(peer.wait_disconnected(5s));
    BOOST_TEST(eventually([&] { return peer.disconnects() >= 1u; }, 5s));

    server.thaw();
    BOOST_TEST(peer.wait_connected(10s));
    BOOST_TEST(peer.flush() == NATS_OK);
}

BOOST_AUTO_TEST_SUITE_END()
