// The daemon under systemd's Type=notify, with the test as systemd: NOTIFY_SOCKET names an abstract
// datagram socket the test reads. READY=1 comes only once the router can answer (NATS connected,
// subscribed, policies loaded), RELOADING=1 and READY=1 frame a SIGHUP reload, STOPPING=1 starts
// the drain on SIGTERM.
#include "notify_listener.hpp"
#include "router_setup.hpp"

#include <boost/test/unit_test.hpp>
#include <csignal>
#include <string>

using namespace beamline::test;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(systemd_notify)

BOOST_AUTO_TEST_CASE(ready_reloading_and_stopping_follow_the_daemons_state)
{
    notify_listener systemd(notify_listener::unique_abstract_name("daemon"));
    nats_server server(nats_server_options{.tls = tls_mode::mutual});
    policy_dir policies;
    policies.write("acme", "default", two_provider_policy);
    auto env = router_nats_env(server);
    env.emplace_back("BEAMLINE_ROUTER_POLICIES_DIR", policies.path().string());
    env.emplace_back("BEAMLINE_NATS_RECONNECT_WAIT_MS", "100");
    env.emplace_back("NOTIFY_SOCKET", systemd.name());

    // NATS is down when the daemon starts: it serves HTTP (503) but must not claim readiness.
    server.stop();
    router_process router(env, 0ms);
    BOOST_TEST_REQUIRE(router.wait_health(503, 15s), router.log());
    BOOST_TEST(systemd.receive_queued().starts_with("<nothing received"));

    server.start();
    BOOST_TEST_REQUIRE(router.wait_health(200, 15s), router.log());
    const auto ready = systemd.receive();
    BOOST_TEST(ready.starts_with("READY=1\nSTATUS=serving 1 policies from "), ready);

    router.signal(SIGHUP);
    const auto reloading = systemd.receive();
    BOOST_TEST(reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="), reloading);
    BOOST_TEST(systemd.receive() == "READY=1");

    router.signal(SIGTERM);
    BOOST_TEST(systemd.receive() == "STOPPING=1");
    BOOST_TEST(router.wait_exit(20s).value_or(-1) == 0);
    BOOST_TEST(systemd.receive_queued().starts_with("<nothing received"), "nothing after STOPPING=1");
}

BOOST_AUTO_TEST_SUITE_END()
