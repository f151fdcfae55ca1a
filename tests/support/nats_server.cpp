#include "nats_server.hpp"

#include "child_process.hpp"

#include <arpa/inet.h>
#include <boost/test/results_collector.hpp>
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <mutex>
#include <netinet/in.h>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace beamline::test
{
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace
{

std::string env_or(const char* name, const char* fallback)
{
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? value : fallback;
}

std::string nats_server_binary()
{
    if (const char* explicit_bin = std::getenv("NATS_SERVER_BIN"); explicit_bin != nullptr && *explicit_bin)
        return explicit_bin;
    for (const char* candidate :
         {"/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"})
        if (::access(candidate, X_OK) == 0) return candidate;
    return "nats-server";
}

// The certificates live for the whole process and are removed when it exits.
struct certificate_store
{
    fs::path dir;
    certificate_paths paths;
    ~certificate_store()
    {
        std::error_code ignored;
        if (!dir.empty() && !keep_test_dirs()) fs::remove_all(dir, ignored);
    }
};

std::string quoted(const fs::path& path)
{
    return '"' + path.string() + '"';
}

bool accepts_connections(std::uint16_t port)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
}

} // namespace

const certificate_paths& test_certificates()
{
    static certificate_store store;
    static std::once_flag once;
    std::call_once(once,
                   []
                   {
                       store.dir = make_temp_dir("beamline-certs-");
                       std::string command = "CERTS_DIR='" + store.dir.string() +
                                             "' bash '" BEAMLINE_SOURCE_DIR
                                             "/scripts/generate_certs.sh' --other-ca --quiet";
                       if (std::system(command.c_str()) != 0)
                           throw std::runtime_error("scripts/generate_certs.sh failed (command: " + command +
                                                    ")");
                       const fs::path& d = store.dir;
                       store.paths = {d / "ca.pem",
                                      d / "server.pem",
                                      d / "server-key.pem",
                                      d / "client.pem",
                                      d / "client-key.pem",
                                      d / "other" / "ca.pem",
                                      d / "other" / "client.pem",
                                      d / "other" / "client-key.pem"};
                   });
    return store.paths;
}

std::uint16_t free_loopback_port()
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket(): " + std::string(std::strerror(errno)));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    {
        int error = errno;
        ::close(fd);
        throw std::runtime_error("cannot find a free loopback port: " + std::string(std::strerror(error)));
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

nats_server::nats_server(nats_server_options options) : options_(std::move(options))
{
    if (options_.tls != tls_mode::none) certs_ = test_certificates();
    dir_ = make_temp_dir("beamline-nats-");
    // Another process may take a port between our probe and the server's bind: try fresh ports.
    constexpr int attempts = 5;
    for (int attempt = 1;; ++attempt)
    {
        port_ = free_loopback_port();
        do
        {
            monitor_port_ = free_loopback_port();
        } while (monitor_port_ == port_);
        write_config();
        spawn();
        if (wait_ready(10s)) return;
        std::string reason = log();
        kill();
        if (attempt == attempts || reason.find("address already in use") == std::string::npos)
        {
            std::error_code ignored;
            if (!keep_test_dirs()) fs::remove_all(dir_, ignored);
            throw std::runtime_error("nats-server did not start on 127.0.0.1:" + std::to_string(port_) +
                                     "; its log:\n" + reason);
        }
    }
}

nats_server::~nats_server()
{
    try
    {
        stop();
    }
    catch (...)
    {
    }
    dump_log_if_asked();
    std::error_code ignored;
    if (!keep_test_dirs()) fs::remove_all(dir_, ignored);
}

std::string nats_server::url() const
{
    return std::string(options_.tls == tls_mode::none ? "nats" : "tls") +
           "://127.0.0.1:" + std::to_string(port_);
}

std::string nats_server::url_with_credentials() const
{
    std::string userinfo;
    if (!options_.user.empty())
        userinfo = options_.user + ':' + options_.password + '@';
    else if (!options_.token.empty())
        userinfo = options_.token + '@';
    std::string plain = url();
    auto host = plain.find("://") + 3;
    return plain.substr(0, host) + userinfo + plain.substr(host);
}

std::string nats_server::log() const
{
    std::ifstream in(log_path());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void nats_server::write_config() const
{
    std::ofstream config(dir_ / "nats-server.conf", std::ios::trunc);
    config << "listen: \"127.0.0.1:" << port_ << "\"\n"
           << "http: \"127.0.0.1:" << monitor_port_ << "\"\n";
    if (options_.max_payload) config << "max_payload: " << *options_.max_payload << '\n';
    if (options_.ping_interval) config << "ping_interval: \"" << options_.ping_interval->count() << "ms\"\n";
    if (options_.max_pings_out) config << "ping_max: " << *options_.max_pings_out << '\n';
    if (options_.jetstream) config << "jetstream {\n  store_dir: " << quoted(dir_ / "jetstream") << "\n}\n";
    if (options_.tls != tls_mode::none)
    {
        config << "tls {\n  cert_file: " << quoted(certs_.server_cert)
               << "\n  key_file: " << quoted(certs_.server_key) << "\n  timeout: 2\n";
        if (options_.tls == tls_mode::mutual)
            config << "  ca_file: " << quoted(certs_.ca) << "\n  verify: true\n";
        config << "}\n";
    }
    if (!options_.user.empty())
        config << "authorization {\n  user: \"" << options_.user << "\"\n  password: \"" << options_.password
               << "\"\n}\n";
    else if (!options_.token.empty())
        config << "authorization {\n  token: \"" << options_.token << "\"\n}\n";
    config << options_.extra_config << '\n';
    if (!config) throw std::runtime_error("cannot write " + (dir_ / "nats-server.conf").string());
}

void nats_server::spawn()
{
    if (running()) return;
    std::string config = (dir_ / "nats-server.conf").string();
    pid_ = spawn_logged({nats_server_binary(), "-c", config}, log_path());
    frozen_ = false;
}

bool nats_server::wait_ready(std::chrono::milliseconds limit)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline)
    {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_)
        {
            pid_ = -1;
            return false;
        }
        if (accepts_connections(port_)) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

void nats_server::start()
{
    if (running()) return;
    spawn();
    if (!wait_ready(10s))
    {
        std::string reason = log();
        kill();
        throw std::runtime_error("nats-server did not restart on 127.0.0.1:" + std::to_string(port_) +
                                 "; its log:\n" + reason);
    }
}

void nats_server::reap(std::chrono::milliseconds limit)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (true)
    {
        int status = 0;
        pid_t result = ::waitpid(pid_, &status, WNOHANG);
        if (result == pid_ || (result < 0 && errno == ECHILD))
        {
            pid_ = -1;
            frozen_ = false;
            return;
        }
        if (std::chrono::steady_clock::now() >= deadline) return;
        std::this_thread::sleep_for(10ms);
    }
}

void nats_server::stop()
{
    if (!running()) return;
    if (frozen_) thaw();
    ::kill(pid_, SIGTERM);
    reap(10s);
    if (running()) kill();
}

void nats_server::kill()
{
    if (!running()) return;
    ::kill(pid_, SIGKILL);
    reap(10s);
}

void nats_server::freeze()
{
    if (running() && ::kill(pid_, SIGSTOP) == 0) frozen_ = true;
}

void nats_server::thaw()
{
    if (running() && ::kill(pid_, SIGCONT) == 0) frozen_ = false;
}

void nats_server::dump_log_if_asked() const
{
    std::string mode = env_or("BEAMLINE_TEST_NATS_LOG", "");
    if (mode == "always" || (mode == "1" && current_test_failed()))
        std::cerr << "----- nats-server log " << log_path() << " -----\n"
                  << log() << "----- end of log -----\n";
}

} // namespace beamline::test
