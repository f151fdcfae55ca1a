#pragma once
// Process helpers behind `start`, `stop`, `restart` and `status`: the pidfile, detaching into the
// background, and stopping a process with a bound.

#include <boost/system/result.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <system_error>

namespace beamline::app
{

/// True while `pid` exists and is not a zombie (a process we may not signal still counts).
bool is_running(pid_t pid);

/// The executable of this process (/proc/self/exe).
std::filesystem::path current_executable();

/// True when `pid` runs `executable` (compared by file name, so a rebuilt binary, shown by the
/// kernel as "... (deleted)", still matches). False when /proc cannot tell, e.g. another user's
/// process: a pidfile written by us never names one of those.
bool runs_executable(pid_t pid, const std::filesystem::path& executable);

/// Writes `pid` and a newline atomically: a temporary file in the same directory, then rename,
/// so a reader never sees a half-written pidfile.
std::error_code write_pidfile(const std::filesystem::path& path, pid_t pid);

/// The pid in a pidfile. Errors: no_such_file_or_directory when absent, invalid_argument when the
/// content is not a positive pid.
boost::system::result<pid_t, std::error_code> read_pidfile(const std::filesystem::path& path);

/// Removes the pidfile only if it still names `owner`, so an old process shutting down late does
/// not delete the pidfile of its successor.
std::error_code remove_pidfile(const std::filesystem::path& path, pid_t owner);

struct pidfile_state
{
    enum class status
    {
        absent,     // no pidfile
        running,    // names a live process running our executable
        stale,      // names a dead process, or one running something else (pid reused)
        unreadable, // exists but cannot be read or holds no pid
    };
    status state = status::absent;
    pid_t pid = 0;
    std::string detail; // why it is stale or unreadable, for the operator
};

/// What `start` and `stop` need to know about a pidfile. A stale pidfile is left in place; the
/// caller decides to remove it.
pidfile_state inspect_pidfile(const std::filesystem::path& path,
                              const std::filesystem::path& executable = current_executable());

enum class stop_outcome
{
    stopped,     // the process is gone
    timed_out,   // still running when the timeout expired
    not_running, // there was no such process to signal
    refused,     // not allowed to signal it (EPERM)
};
std::string_view to_string(stop_outcome o) noexcept;

/// Sends `sig` and waits up to `timeout` for the process to disappear. Reaps it if it is our
/// child, so a zombie counts as stopped.
stop_outcome signal_and_wait(pid_t pid, int sig, std::chrono::milliseconds timeout);

/// The two ends of a daemonize() call. In the launching process `is_daemon` is false and the
/// caller waits for the daemon's report, prints it and exits; in the daemon it is true and the
/// caller runs the service and reports once ready (or failed), which releases the launcher.
class daemon_handle
{
public:
    daemon_handle() = default;
    daemon_handle(bool is_daemon, pid_t daemon_pid, int channel) noexcept
        : is_daemon_(is_daemon), daemon_pid_(daemon_pid), channel_(channel)
    {
    }
    daemon_handle(daemon_handle&& other) noexcept;
    daemon_handle& operator=(daemon_handle&& other) noexcept;
    ~daemon_handle();

    bool is_daemon() const noexcept { return is_daemon_; }
    pid_t daemon_pid() const noexcept { return daemon_pid_; }

    /// Daemon side: tells the launcher that startup succeeded (the launcher exits 0).
    void report_ready();
    /// Daemon side: tells the launcher why startup failed (the launcher prints it, exits non-zero).
    void report_failure(std::string_view why);

    struct startup_report
    {
        bool ready = false;
        std::string failure; // empty when ready
    };
    /// Launcher side: waits for the daemon's report. A daemon that exits without reporting, or
    /// does not report within `timeout`, is a failure with a message saying so.
    startup_report wait_for_startup(std::chrono::milliseconds timeout);

private:
    void send(std::string_view line);

    bool is_daemon_ = false;
    pid_t daemon_pid_ = 0;
    int channel_ = -1;
};

/// Detaches into the background: fork, setsid, fork again (so the daemon can never reacquire a
/// terminal), stdin from /dev/null, stdout and stderr appended to `log_file` (created 0640).
/// The working directory is kept on purpose, so relative paths in the configuration
/// (policies_dir, pidfile, log file) mean the same as in the shell that ran `start`; the
/// daemon then holds that directory busy, which is the usual trade-off for predictable paths.
/// Returns in both processes (see daemon_handle); the intermediate process never returns.
/// Call it before any thread is started: only the calling thread survives a fork.
boost::system::result<daemon_handle, std::error_code> daemonize(const std::filesystem::path& log_file);

} // namespace beamline::app
