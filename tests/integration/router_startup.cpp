// The daemon refuses to start on configuration it could only retry forever or silently ignore:
// `beamline_router run` exits 2 at once, naming the key or variable, instead of serving 503 while
// it retries a connection that cannot succeed.
#include "router_process.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace beamline::test;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(router_startup)

BOOST_AUTO_TEST_CASE(a_missing_tls_file_stops_the_start_naming_key_and_file)
{
    const std::string missing = "/nonexistent/beamline-test/ca.pem";
    router_process router({{"BEAMLINE_NATS_URL", "tls://127.0.0.1:1"}, {"BEAMLINE_NATS_TLS_CA", missing}},
                          0ms);
    // The limit only bounds a broken build; the assertion is the exit status and the message.
    BOOST_TEST(router.wait_exit(20s).value_or(-1) == 2, router.log());
    BOOST_TEST(router.log().find("nats.tls_ca: file \"" + missing + "\" does not exist") != std::string::npos,
               router.log());
}

BOOST_AUTO_TEST_CASE(a_variable_with_a_misspelt_section_stops_the_start)
{
    router_process router({{"BEAMLINE_NAT_URL", "nats://127.0.0.1:1"}}, 0ms);
    BOOST_TEST(router.wait_exit(20s).value_or(-1) == 2, router.log());
    BOOST_TEST(router.log().find("BEAMLINE_NAT_URL: unknown section \"nat\"") != std::string::npos,
               router.log());
}

BOOST_AUTO_TEST_SUITE_END()
