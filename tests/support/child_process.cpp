#include "child_process.hpp"

#include <boost/test/results_collector.hpp>
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <unistd.h>

namespace beamline::test
{
namespace fs = std::filesystem;

fs::path make_temp_dir(const std::string& prefix)
{
    std::string pattern = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::runtime_error("cannot create a temporary directory: " + std::string(std::strerror(errno)));
    return pattern;
}

bool keep_test_dirs()
{
    const char* keep = std::getenv("BEAMLINE_TEST_KEEP_DIRS");
    return keep != nullptr && std::string(keep) == "1";
}

bool current_test_failed()
{
    try
    {
        namespace ut = boost::unit_test;
        auto id = ut::framework::current_test_case().p_id;
        return !ut::results_collector.results(id).passed();
    }
    catch (...)
    {
        return false;
    }
}

pid_t spawn_logged(const std::vector<std::string>& argv, const fs::path& log_file,
                   const std::vector<std::string>& environment)
{
    // Everything the child needs is prepared before fork(): only async-signal-safe calls follow.
    std::vector<std::string> args = argv;
    std::vector<char*> arg_ptrs;
    for (auto& a : args)
        arg_ptrs.push_back(a.data());
    arg_ptrs.push_back(nullptr);
    std::vector<std::string> env = environment;
    std::vector<char*> env_ptrs;
    for (auto& e : env)
        env_ptrs.push_back(e.data());
    env_ptrs.push_back(nullptr);
    int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0)
        throw std::runtime_error("cannot open " + log_file.string() + ": " + std::strerror(errno));
    pid_t parent = ::getpid();
    pid_t child = ::fork();
    if (child == 0)
    {
        // The child must not outlive a test process that crashes.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        if (env.empty())
            ::execvp(arg_ptrs[0], arg_ptrs.data());
        else
            ::execve(arg_ptrs[0], arg_ptrs.data(), env_ptrs.data());
        ::_exit(127);
    }
    int fork_error = errno;
    ::close(log_fd);
    if (child < 0) throw std::runtime_error("fork(): " + std::string(std::strerror(fork_error)));
    return child;
}

} // namespace beamline::test
