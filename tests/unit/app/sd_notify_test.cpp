#include "beamline/app/sd_notify.hpp"
#include "notify_listener.hpp"
#include "temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <cstdlib>

using namespace beamline::app;
using beamline::test::notify_listener;
using beamline::test::temp_dir;

namespace
{

std::string abstract_name(const char* what)
{
    return notify_listener::unique_abstract_name(what);
}

} // namespace

BOOST_AUTO_TEST_SUITE(sd_notify)

BOOST_AUTO_TEST_CASE(without_notify_socket_nothing_is_sent_and_nothing_fails)
{
    service_notifier notifier("");
    BOOST_TEST(!notifier.enabled());
    BOOST_TEST(!notifier.ready("serving"));
    BOOST_TEST(!notifier.stopping());
}

BOOST_AUTO_TEST_CASE(ready_with_status_reaches_a_socket_at_a_path)
{
    temp_dir dir;
    const auto path = (dir.path() / "notify").string();
    notify_listener systemd(path);
    service_notifier notifier(path);
    BOOST_TEST(notifier.enabled());
    BOOST_TEST(notifier.ready("connected to NATS, 3 policies").message() == std::error_code().message());
    BOOST_TEST(systemd.receive() == "READY=1\nSTATUS=connected to NATS, 3 policies");
    BOOST_TEST(!notifier.ready());
    BOOST_TEST(systemd.receive() == "READY=1");
}

BOOST_AUTO_TEST_CASE(an_abstract_name_written_with_at_reaches_the_abstract_socket)
{
    const auto name = abstract_name("abstract");
    notify_listener systemd(name);
    service_notifier notifier(name);
    BOOST_TEST(!notifier.stopping());
    BOOST_TEST(systemd.receive() == "STOPPING=1");
}

BOOST_AUTO_TEST_CASE(reloading_carries_the_monotonic_time_of_the_reload)
{
    const auto name = abstract_name("reload");
    notify_listener systemd(name);
    service_notifier notifier(name);
    const auto before = monotonic_usec();
    BOOST_TEST(!notifier.reloading());
    const auto after = monotonic_usec();
    const auto message = systemd.receive();
    const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
    BOOST_TEST_REQUIRE(message.starts_with(prefix), message);
    const auto usec = std::stoull(message.substr(prefix.size()));
    BOOST_TEST(usec >= before);
    BOOST_TEST(usec <= after);
}

BOOST_AUTO_TEST_CASE(the_environment_names_the_socket)
{
    const auto name = abstract_name("env");
    notify_listener systemd(name);
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
    const auto notifier = service_notifier::from_environment();
    ::unsetenv("NOTIFY_SOCKET");
    BOOST_TEST(notifier.socket() == name);
    BOOST_TEST(!notifier.notify("READY=1"));
    BOOST_TEST(systemd.receive() == "READY=1");
    BOOST_TEST(!service_notifier::from_environment().enabled());
}

BOOST_AUTO_TEST_CASE(an_address_that_is_not_a_unix_socket_is_refused_by_name)
{
    const auto relative = service_notifier("run/notify").notify("READY=1");
    BOOST_TEST(relative == make_error_code(notify_errc::unsupported_address));
    BOOST_TEST(relative.message().find("NOTIFY_SOCKET") != std::string::npos);
    BOOST_TEST(service_notifier("vsock:2:1234").ready() == make_error_code(notify_errc::unsupported_address));
    BOOST_TEST(service_notifier("/" + std::string(200, 'x')).ready() ==
               make_error_code(notify_errc::address_too_long));
}

BOOST_AUTO_TEST_CASE(a_socket_nobody_listens_on_is_the_systems_error)
{
    temp_dir dir;
    const auto ec = service_notifier((dir.path() / "absent").string()).ready();
    BOOST_TEST(ec == std::error_code(ENOENT, std::system_category()));
}

BOOST_AUTO_TEST_SUITE_END()
