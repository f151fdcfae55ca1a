#include "router_process.hpp"

#include "child_process.hpp"
#include "libnats_peer.hpp"

#include <arpa/inet.h>
#include <boost/test/results_collector.hpp>
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <map>
#include <netinet/in.h>
#include <sstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace beamline::test
{
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace
{

// The inherited environment with `overrides` applied, as NAME=value strings.
std::vector<std::string> child_environment(const env_list& overrides)
{
    std::map<std::string, std::string> vars;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    {
        std::string entry(*e);
        auto eq = entry.find('=');
        if (eq != std::string::npos) vars[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    for (const auto& [name, value] : overrides)
        vars[name] = value;
    std::vector<std::string> out;
    out.reserve(vars.size());
    for (const auto& [name, value] : vars)
        out.push_back(name + "=" + value);
    return out;
}

bool names(const env_list& env, const std::string& name)
{
    for (const auto& entry : env)
        if (entry.first == name) return true;
    return false;
}

// The status code of GET `target` on 127.0.0.1:port, 0 when no answer came within a second. Plain
// sockets: the support library does not link the project's own HTTP client.
int loopback_get_status(std::uint16_t port, const std::string& target)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    timeval limit{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int status = 0;
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()))
    {
        std::string head;
        char buffer[256];
        ssize_t n = 0;
        while (head.size() < 12 && (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0)
            head.append(buffer, static_cast<std::size_t>(n));
        if (head.size() >= 12 && head.compare(0, 5, "HTTP/") == 0) status = std::atoi(head.c_str() + 9);
    }
    ::close(fd);
    return status;
}

} // namespace

policy_dir::policy_dir() : path_(make_temp_dir("beamline_policies_")) {}

policy_dir::~policy_dir()
{
    std::error_code ignored;
    if (!keep_test_dirs()) fs::remove_all(path_, ignored);
}

fs::path policy_dir::write(const std::string& tenant, const std::string& policy,
                           const std::string& json) const
{
    fs::create_directories(path_ / tenant);
    auto file = path_ / tenant / (policy + ".json");
    std::ofstream(file) << json;
    return file;
}

std::string decide_request(const std::string& tenant, const std::string& request_id, const std::string& extra)
{
    std::string body = R"({"version":"1","request_id":")" + request_id + R"(","tenant_id":")" + tenant +
                       R"(","task":{"type":"chat","payload":{"prompt":"hi"}})";
    if (!extra.empty()) body += "," + extra;
    return body + "}";
}

env_list router_nats_env(const nats_server& server)
{
    env_list env{{"BEAMLINE_NATS_URL", server.url_with_credentials()}};
    // A server without JetStream is a deployment without the results loop.
    if (!server.options().jetstream) env.emplace_back("BEAMLINE_JETSTREAM_ENABLED", "false");
    if (server.options().tls != tls_mode::none)
    {
        env.emplace_back("BEAMLINE_NATS_TLS_CA", server.certs().ca.string());
        env.emplace_back("BEAMLINE_NATS_TLS_CERT", server.certs().client_cert.string());
        env.emplace_back("BEAMLINE_NATS_TLS_KEY", server.certs().client_key.string());
    }
    return env;
}

router_process::router_process(const env_list& env, std::chrono::milliseconds ready_limit)
{
    dir_ = make_temp_dir("beamline_router_");
    http_port_ = free_loopback_port();

    env_list full = env;
    if (!names(env, "BEAMLINE_HTTP_LISTEN")) full.emplace_back("BEAMLINE_HTTP_LISTEN", http_listen());
    if (!names(env, "BEAMLINE_ROUTER_PIDFILE"))
        full.emplace_back("BEAMLINE_ROUTER_PIDFILE", (dir_ / "beamline_router.pid").string());

    pid_ = spawn_logged({BEAMLINE_BINARY_DIR "/beamline_router", "run"}, dir_ / "router.log",
                        child_environment(full));

    if (ready_limit.count() > 0 && !wait_health(200, ready_limit))
    {
        std::string text =
            "beamline_router did not become healthy on " + http_listen() + "; its log:\n" + log();
        throw std::runtime_error(text);
    }
}

router_process::~router_process()
{
    if (pid_ > 0)
    {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    // A sanitizer report in the daemon goes to its log, not to the test's exit code: the daemon is
    // killed above, so a TSan or ASan build of the suites would otherwise pass over it.
    if (const std::string text = log(); text.find("Sanitizer: ") != std::string::npos &&
                                        text.find("SUMMARY: ") != std::string::npos)
        BOOST_ERROR("the router's log has a sanitizer report");
    if (current_test_failed())
        std::cerr << "----- router log " << (dir_ / "router.log") << " -----\n" << log() << "-----\n";
    std::error_code ignored;
    if (!keep_test_dirs()) fs::remove_all(dir_, ignored);
}

std::string router_process::log() const
{
    std::ifstream in(dir_ / "router.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool router_process::wait_health(int expected_status, std::chrono::milliseconds limit)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline)
    {
        if (pid_ <= 0) return false;
        // Peek without reaping, so that wait_exit() still reports the exit code.
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            info.si_pid == pid_)
            return false;
        if (loopback_get_status(http_port_, "/healthz") == expected_status) return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

void router_process::signal(int sig) const
{
    if (pid_ > 0) ::kill(pid_, sig);
}

std::optional<int> router_process::wait_exit(std::chrono::milliseconds limit)
{
    if (pid_ <= 0) return std::nullopt;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (true)
    {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_)
        {
            pid_ = -1;
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
            return -1;
        }
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(20ms);
    }
}

bool router_process::wait_results_running(std::chrono::milliseconds limit)
{
    return eventually(
        [&] {
            auto r = http_get("/v1/status");
            return r.status == 200 && r.body.find(R"("running":true)") != std::string::npos;
        },
        limit);
}

} // namespace beamline::test
