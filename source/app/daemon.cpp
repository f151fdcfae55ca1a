#include "beamline/app/daemon.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>

namespace beamline::app
{
namespace
{

std::error_code last_error()
{
    return {errno, std::generic_category()};
}

bool write_all(int fd, std::string_view data)
{
    while (!data.empty())
    {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::filesystem::path proc_path(pid_t pid, const char* entry)
{
    return std::filesystem::path("/proc") / std::to_string(pid) / entry;
}

bool is_zombie(pid_t pid)
{
    std::ifstream stat(proc_path(pid, "stat"));
    std::string content;
    if (!std::getline(stat, content)) return false;
    // The state follows the command name, which is in parentheses and may itself contain ") ".
    const auto close = content.rfind(')');
    return close != std::string::npos && close + 2 < content.size() && content[close + 2] == 'Z';
}

std::string without_deleted_suffix(std::string name)
{
    constexpr std::string_view suffix = " (deleted)";
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        name.resize(name.size() - suffix.size());
    return name;
}

} // namespace

bool is_running(pid_t pid)
{
    if (pid <= 0) return false;
    if (::kill(pid, 0) != 0 && errno != EPERM) return false;
    return !is_zombie(pid);
}

std::filesystem::path current_executable()
{
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path() : exe;
}

bool runs_executable(pid_t pid, const std::filesystem::path& executable)
{
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink(proc_path(pid, "exe"), ec);
    if (ec || executable.empty()) return false;
    return without_deleted_suffix(exe.filename().string()) ==
           without_deleted_suffix(executable.filename().string());
}

std::error_code write_pidfile(const std::filesystem::path& path, pid_t pid)
{
    std::filesystem::path tmp = path;
    tmp += ".tmp." + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return last_error();
    const std::string text = std::to_string(pid) + "\n";
    const bool written = write_all(fd, text) && ::fsync(fd) == 0;
    const std::error_code write_error = written ? std::error_code() : last_error();
    ::close(fd);
    if (!written)
    {
        ::unlink(tmp.c_str());
        return write_error;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0)
    {
        const auto ec = last_error();
        ::unlink(tmp.c_str());
        return ec;
    }
    return {};
}

boost::system::result<pid_t, std::error_code> read_pidfile(const std::filesystem::path& path)
{
    std::ifstream in(path);
    if (!in) return std::error_code(errno ? errno : ENOENT, std::generic_category());
    std::string text;
    std::getline(in, text);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\r' || text.back() == '\t'))
        text.pop_back();
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || pid <= 0)
        return std::make_error_code(std::errc::invalid_argument);
    return pid;
}

std::error_code remove_pidfile(const std::filesystem::path& path, pid_t owner)
{
    auto pid = read_pidfile(path);
    if (!pid) return pid.error() == std::errc::no_such_file_or_directory ? std::error_code() : pid.error();
    if (*pid != owner) return {};
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return last_error();
    return {};
}

pidfile_state inspect_pidfile(const std::filesystem::path& path, const std::filesystem::path& executable)
{
    using status = pidfile_state::status;
    auto pid = read_pidfile(path);
    if (!pid)
    {
        if (pid.error() == std::errc::no_such_file_or_directory) return {status::absent, 0, {}};
        if (pid.error() == std::errc::invalid_argument)
            return {status::unreadable, 0, path.string() + " does not hold a process id"};
        return {status::unreadable, 0, path.string() + ": " + pid.error().message()};
    }
    if (!is_running(*pid))
        return {status::stale, *pid, "process " + std::to_string(*pid) + " is not running"};
    if (!runs_executable(*pid, executable))
        return {status::stale, *pid,
                "process " + std::to_string(*pid) + " is not " + executable.filename().string() +
                    " (the pid was reused)"};
    return {status::running, *pid, {}};
}

std::string_view to_string(stop_outcome o) noexcept
{
    switch (o)
    {
    case stop_outcome::stopped:
        return "stopped";
    case stop_outcome::timed_out:
        return "timed out";
    case stop_outcome::not_running:
        return "not running";
    case stop_outcome::refused:
        return "not permitted";
    }
    return "unknown";
}

stop_outcome signal_and_wait(pid_t pid, int sig, std::chrono::milliseconds timeout)
{
    if (pid <= 0 || ::kill(pid, sig) != 0)
        return pid > 0 && errno == EPERM ? stop_outcome::refused : stop_outcome::not_running;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true)
    {
        // Our own child stays a zombie until reaped; any other process is reaped by its parent.
        if (::waitpid(pid, nullptr, WNOHANG) == pid) return stop_outcome::stopped;
        if (!is_running(pid))
        {
            ::waitpid(pid, nullptr, WNOHANG); // it may have become our zombie since the check above
            return stop_outcome::stopped;
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return stop_outcome::timed_out;
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(deadline - now, std::chrono::milliseconds{10}));
    }
}

daemon_handle::daemon_handle(daemon_handle&& other) noexcept
    : is_daemon_(other.is_daemon_), daemon_pid_(other.daemon_pid_),
      channel_(std::exchange(other.channel_, -1))
{
}

daemon_handle& daemon_handle::operator=(daemon_handle&& other) noexcept
{
    if (this != &other)
    {
        if (channel_ >= 0) ::close(channel_);
        is_daemon_ = other.is_daemon_;
        daemon_pid_ = other.daemon_pid_;
        channel_ = std::exchange(other.channel_, -1);
    }
    return *this;
}

daemon_handle::~daemon_handle()
{
    if (channel_ >= 0) ::close(channel_);
}

void daemon_handle::send(std::string_view line)
{
    if (!is_daemon_ || channel_ < 0) return;
    // The launcher may already have given up: MSG_NOSIGNAL keeps its closed end from raising
    // SIGPIPE in the daemon, which is why the channel is a socket pair and not a pipe.
    std::string_view rest = line;
    while (!rest.empty())
    {
        const ssize_t n = ::send(channel_, rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    ::close(channel_);
    channel_ = -1;
}

void daemon_handle::report_ready()
{
    send("ready\n");
}

void daemon_handle::report_failure(std::string_view why)
{
    std::string line = "failed ";
    for (char c : why)
        line += c == '\n' ? ' ' : c;
    send(line + "\n");
}

daemon_handle::startup_report daemon_handle::wait_for_startup(std::chrono::milliseconds timeout)
{
    const std::string who = "the daemon (pid " + std::to_string(daemon_pid_) + ")";
    if (is_daemon_ || channel_ < 0) return {false, "no daemon to wait for"};
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string received;
    while (received.find('\n') == std::string::npos)
    {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return {false, who + " did not report ready within " + std::to_string(timeout.count()) + " ms"};
        pollfd p{channel_, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        char buf[512];
        const ssize_t n = ::read(channel_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return {false, who + " exited before it was ready; see its log file"};
        received.append(buf, static_cast<std::size_t>(n));
    }
    received.resize(received.find('\n'));
    ::close(channel_);
    channel_ = -1;
    if (received == "ready") return {true, {}};
    if (received.starts_with("failed ")) return {false, received.substr(7)};
    return {false, who + " sent an unexpected report: " + received};
}

boost::system::result<daemon_handle, std::error_code> daemonize(const std::filesystem::path& log_file)
{
    // Opened before forking so that a bad path is reported by `start` itself, not lost.
    const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (log_fd < 0) return last_error();
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int channel[2];
    if (null_fd < 0 || ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) != 0)
    {
        const auto ec = last_error();
        ::close(log_fd);
        if (null_fd >= 0) ::close(null_fd);
        return ec;
    }
    std::fflush(nullptr); // buffered output would otherwise be written once per process
    const pid_t first = ::fork();
    if (first < 0)
    {
        const auto ec = last_error();
        for (int fd : {log_fd, null_fd, channel[0], channel[1]})
            ::close(fd);
        return ec;
    }
    if (first > 0)
    {
        ::close(log_fd);
        ::close(null_fd);
        ::close(channel[1]);
        int status = 0;
        while (::waitpid(first, &status, 0) < 0 && errno == EINTR)
        {
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        {
            ::close(channel[0]);
            return std::make_error_code(std::errc::resource_unavailable_try_again); // second fork failed
        }
        // Byte by byte: the daemon's report may already follow its pid on the channel.
        std::string line;
        char c = 0;
        while (line.size() < 32)
        {
            const ssize_t n = ::read(channel[0], &c, 1);
            if (n < 0 && errno == EINTR) continue;
            if (n != 1 || c == '\n') break;
            line += c;
        }
        pid_t daemon_pid = 0;
        if (line.starts_with("pid ")) std::from_chars(line.data() + 4, line.data() + line.size(), daemon_pid);
        if (daemon_pid <= 0)
        {
            ::close(channel[0]);
            return std::make_error_code(std::errc::resource_unavailable_try_again);
        }
        return daemon_handle(false, daemon_pid, channel[0]);
    }

    // Intermediate process: a new session without a terminal, then the daemon is forked from it
    // and, not being a session leader, can never acquire a controlling terminal again.
    ::close(channel[0]);
    ::setsid();
    const pid_t second = ::fork();
    if (second != 0)
    {
        ::_exit(second > 0 ? 0 : 1);
    }
    // The daemon announces its pid itself, so the announcement always precedes its report.
    write_all(channel[1], "pid " + std::to_string(::getpid()) + "\n");
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::close(null_fd);
    ::close(log_fd);
    return daemon_handle(true, ::getpid(), channel[1]);
}

} // namespace beamline::app
