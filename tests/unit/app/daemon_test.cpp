#include "beamline/app/daemon.hpp"
#include "temp_dir.hpp"

#include <boost/test/unit_test.hpp>
#include <csignal>
#include <cstdio>
#include <sys/wait.h>
#include <unistd.h>

using namespace beamline::app;
using namespace std::chrono_literals;
using beamline::test::temp_dir;
using status = pidfile_state::status;

namespace
{

// A child that sleeps until signalled; `ignore_term` makes it shrug off SIGTERM.
pid_t fork_sleeper(bool ignore_term = false)
{
    const pid_t pid = ::fork();
    BOOST_TEST_REQUIRE(pid >= 0);
    if (pid == 0)
    {
        if (ignore_term) ::signal(SIGTERM, SIG_IGN);
        for (int i = 0; i < 600; ++i)
            ::sleep(1);
        ::_exit(0);
    }
    return pid;
}

void kill_and_reap(pid_t pid)
{
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}

} // namespace

BOOST_AUTO_TEST_SUITE(daemon_process)

BOOST_AUTO_TEST_CASE(pidfile_round_trip_and_owner_only_removal)
{
    temp_dir dir;
    const auto path = dir.path() / "router.pid";
    BOOST_TEST_REQUIRE(!write_pidfile(path, 4242));
    BOOST_TEST(dir.read("router.pid") == "4242\n");
    BOOST_TEST(read_pidfile(path).value() == 4242);
    BOOST_TEST(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1, "no temporary left");

    BOOST_TEST(!remove_pidfile(path, 1111));
    BOOST_TEST(std::filesystem::exists(path), "a pidfile naming another process stays");
    BOOST_TEST(!remove_pidfile(path, 4242));
    BOOST_TEST(!std::filesystem::exists(path));
    BOOST_TEST(!remove_pidfile(path, 4242), "removing an absent pidfile is not an error");
}

BOOST_AUTO_TEST_CASE(pidfile_read_errors)
{
    temp_dir dir;
    BOOST_TEST(read_pidfile(dir.path() / "absent.pid").error() ==
               std::make_error_code(std::errc::no_such_file_or_directory));
    for (const char* content : {"", "abc\n", "-5\n", "0\n", "12 13\n"})
        BOOST_TEST(read_pidfile(dir.write("bad.pid", content)).error() ==
                       std::make_error_code(std::errc::invalid_argument),
                   content);
    BOOST_TEST(write_pidfile(dir.path() / "no-such-dir" / "x.pid", 1) ==
               std::make_error_code(std::errc::no_such_file_or_directory));
}

BOOST_AUTO_TEST_CASE(inspect_tells_running_from_stale)
{
    temp_dir dir;
    const auto path = dir.path() / "router.pid";
    BOOST_TEST((inspect_pidfile(path).state == status::absent));

    BOOST_TEST_REQUIRE(!write_pidfile(path, ::getpid()));
    const auto mine = inspect_pidfile(path);
    BOOST_TEST((mine.state == status::running));
    BOOST_TEST(mine.pid == ::getpid());

    // A forked child runs the same executable, so once it is gone its pidfile is stale.
    const pid_t child = fork_sleeper();
    BOOST_TEST_REQUIRE(!write_pidfile(path, child));
    BOOST_TEST((inspect_pidfile(path).state == status::running));
    kill_and_reap(child);
    const auto gone = inspect_pidfile(path);
    BOOST_TEST((gone.state == status::stale));
    BOOST_TEST(gone.detail == "process " + std::to_string(child) + " is not running");

    // A live process running some other program: the pid was reused.
    BOOST_TEST_REQUIRE(!write_pidfile(path, ::getpid()));
    const auto reused = inspect_pidfile(path, "/usr/sbin/some-other-daemon");
    BOOST_TEST((reused.state == status::stale));
    BOOST_TEST(reused.detail.find("(the pid was reused)") != std::string::npos);

    dir.write("router.pid", "garbage\n");
    BOOST_TEST((inspect_pidfile(path).state == status::unreadable));
}

BOOST_AUTO_TEST_CASE(is_running_sees_zombies_as_gone)
{
    BOOST_TEST(is_running(::getpid()));
    BOOST_TEST(!is_running(0));
    BOOST_TEST(!is_running(-1));
    const pid_t child = fork_sleeper();
    BOOST_TEST(is_running(child));
    ::kill(child, SIGKILL);
    // Not reaped yet: a zombie, which is no longer running.
    for (int i = 0; i < 500 && is_running(child); ++i)
        ::usleep(10'000);
    BOOST_TEST(!is_running(child));
    ::waitpid(child, nullptr, 0);
}

BOOST_AUTO_TEST_CASE(signal_and_wait_stops_a_sleeping_child)
{
    const pid_t child = fork_sleeper();
    BOOST_TEST((signal_and_wait(child, SIGTERM, 10s) == stop_outcome::stopped));
    BOOST_TEST(!is_running(child));
    BOOST_TEST((signal_and_wait(child, SIGTERM, 1s) == stop_outcome::not_running));
}

BOOST_AUTO_TEST_CASE(signal_and_wait_times_out_on_a_child_ignoring_the_signal)
{
    const pid_t child = fork_sleeper(true);
    // Give the child time to install SIG_IGN, otherwise SIGTERM would kill it first.
    for (int i = 0; i < 500; ++i)
    {
        std::ifstream status_file("/proc/" + std::to_string(child) + "/status");
        std::string line;
        bool ignoring = false;
        while (std::getline(status_file, line))
            if (line.starts_with("SigIgn:"))
                ignoring = (std::stoull(line.substr(7), nullptr, 16) >> (SIGTERM - 1)) & 1;
        if (ignoring) break;
        ::usleep(10'000);
    }
    BOOST_TEST((signal_and_wait(child, SIGTERM, 100ms) == stop_outcome::timed_out));
    BOOST_TEST(is_running(child));
    BOOST_TEST((signal_and_wait(child, SIGKILL, 10s) == stop_outcome::stopped));
}

// The daemon half of each case writes to its log and leaves with _exit, so the forked copy of
// the test runner never runs another test.
BOOST_AUTO_TEST_CASE(daemonize_redirects_output_and_reports_ready)
{
    temp_dir dir;
    auto handle = daemonize(dir.path() / "daemon.log");
    BOOST_TEST_REQUIRE(handle.has_value(), (handle ? "" : handle.error().message()));
    if (handle->is_daemon())
    {
        std::printf("daemon pid %d session leader %d\n", static_cast<int>(::getpid()),
                    static_cast<int>(::getsid(0) == ::getpid()));
        std::fflush(stdout);
        handle->report_ready();
        ::_exit(0);
    }
    BOOST_TEST(handle->daemon_pid() != ::getpid());
    const auto report = handle->wait_for_startup(30s);
    BOOST_TEST(report.ready, report.failure);
    // The daemon is not the session leader: the intermediate process was, and it is gone.
    BOOST_TEST(dir.read("daemon.log") ==
               "daemon pid " + std::to_string(handle->daemon_pid()) + " session leader 0\n");
}

BOOST_AUTO_TEST_CASE(daemonize_passes_a_startup_failure_to_the_launcher)
{
    temp_dir dir;
    auto handle = daemonize(dir.path() / "daemon.log");
    BOOST_TEST_REQUIRE(handle.has_value(), (handle ? "" : handle.error().message()));
    if (handle->is_daemon())
    {
        handle->report_failure("cannot connect to nats://127.0.0.1:1\nrefused");
        ::_exit(1);
    }
    const auto report = handle->wait_for_startup(30s);
    BOOST_TEST(!report.ready);
    BOOST_TEST(report.failure == "cannot connect to nats://127.0.0.1:1 refused");
}

BOOST_AUTO_TEST_CASE(daemonize_notices_a_daemon_dying_silently)
{
    temp_dir dir;
    auto handle = daemonize(dir.path() / "daemon.log");
    BOOST_TEST_REQUIRE(handle.has_value(), (handle ? "" : handle.error().message()));
    if (handle->is_daemon()) ::_exit(3);
    const auto report = handle->wait_for_startup(30s);
    BOOST_TEST(!report.ready);
    BOOST_TEST(report.failure == "the daemon (pid " + std::to_string(handle->daemon_pid()) +
                                     ") exited before it was ready; see its log file");
}

BOOST_AUTO_TEST_CASE(daemonize_refuses_an_unwritable_log_file)
{
    auto handle = daemonize("/nonexistent-dir/daemon.log");
    BOOST_TEST_REQUIRE(handle.has_error());
    BOOST_TEST(handle.error() == std::make_error_code(std::errc::no_such_file_or_directory));
}

BOOST_AUTO_TEST_SUITE_END()
