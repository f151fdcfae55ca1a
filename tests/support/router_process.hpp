// The router daemon as a child process for integration tests: `beamline_router run` with a given
// environment, on a free loopback HTTP port, its log captured in a temporary directory, started and
// waited for (until /healthz answers 200), signalled, reaped, and killed with the object.
//
// BEAMLINE_TEST_KEEP_DIRS=1 keeps the directory; the log is printed when a test case failed.
#pragma once

#include "beamline/app/http_client.hpp"
#include "nats_server.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace beamline::test
{

using env_list = std::vector<std::pair<std::string, std::string>>;

// A policies directory in a fresh temporary directory: <dir>/<tenant>/<policy>.json files.
class policy_dir
{
public:
    policy_dir();
    ~policy_dir();
    policy_dir(const policy_dir&) = delete;
    policy_dir& operator=(const policy_dir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    // Writes <dir>/<tenant>/<policy>.json; returns its path.
    std::filesystem::path write(const std::string& tenant, const std::string& policy,
                                const std::string& json) const;

private:
    std::filesystem::path path_;
};

// A minimal valid DecideRequest (version "1", a task with a payload) for `tenant`, with the members
// of the JSON object text `extra` (e.g. R"("policy_id":"p")") appended.
std::string decide_request(const std::string& tenant, const std::string& request_id,
                           const std::string& extra = {});

// BEAMLINE_NATS_URL and, when the server uses TLS, the CA and our client certificate.
env_list router_nats_env(const nats_server& server);

class router_process
{
public:
    // Starts the daemon with `env` over the inherited environment (BEAMLINE_HTTP_LISTEN and
    // BEAMLINE_ROUTER_PIDFILE are set here unless `env` names them), and waits up to
    // `ready_limit` for /healthz 200; throws std::runtime_error with the daemon's log otherwise.
    // A zero `ready_limit` returns as soon as the process is spawned.
    explicit router_process(const env_list& env,
                            std::chrono::milliseconds ready_limit = std::chrono::milliseconds{15000});
    ~router_process();
    router_process(const router_process&) = delete;
    router_process& operator=(const router_process&) = delete;

    std::uint16_t http_port() const { return http_port_; }
    // 127.0.0.1:PORT, the value of BEAMLINE_HTTP_LISTEN for the CLI verbs that reach this daemon.
    std::string http_listen() const { return "127.0.0.1:" + std::to_string(http_port_); }
    const std::filesystem::path& dir() const { return dir_; }
    std::string log() const;
    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0; }

    app::http_reply http(const std::string& method, const std::string& target, const std::string& body = {},
                         const std::string& bearer_token = {}) const
    {
        return app::http_call("127.0.0.1", http_port_, method, target, body, bearer_token);
    }
    app::http_reply http_get(const std::string& target) const { return http("GET", target); }

    // Polls /healthz until it answers `expected_status`; false at the limit or when the process exited.
    bool wait_health(int expected_status, std::chrono::milliseconds limit);
    // Polls /v1/status until its results loop runs (streams and the durable consumer made): /healthz
    // answers before that.
    bool wait_results_running(std::chrono::milliseconds limit);

    void signal(int sig) const;
    // Waits for the process to exit: its exit code, 128 + signal when killed, nullopt at the limit.
    std::optional<int> wait_exit(std::chrono::milliseconds limit);

private:
    std::filesystem::path dir_;
    std::uint16_t http_port_ = 0;
    pid_t pid_ = -1;
};

} // namespace beamline::test
