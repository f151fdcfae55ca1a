// A real nats-server for integration tests: started on free loopback ports in a fresh temporary
// directory, with a configuration written for the test (plain, TLS, mutual TLS, user/password or
// token auth, payload and ping limits, JetStream), and stopped and removed with the object.
//
// Its log goes to <dir>/nats-server.log. With BEAMLINE_TEST_NATS_LOG=1 the log is printed when the
// running test case failed (=always: every time); BEAMLINE_TEST_KEEP_DIRS=1 keeps the directory.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>

namespace beamline::test
{

enum class tls_mode
{
    none,   // nats://, no TLS
    server, // tls://, the client verifies the server; no client certificate required
    mutual, // tls://, and the server verifies a client certificate from our CA (verify: true)
};

struct nats_server_options
{
    tls_mode tls = tls_mode::none;
    // Non-empty user: clients must authenticate with user/password.
    std::string user{};
    std::string password{};
    // Non-empty token: clients must authenticate with this token.
    std::string token{};
    std::optional<std::size_t> max_payload{};
    std::optional<std::chrono::milliseconds> ping_interval{};
    std::optional<int> max_pings_out{};
    bool jetstream = false;
    // Appended verbatim to the generated configuration, for settings with no field here.
    std::string extra_config{};
};

// The certificates of a test run (scripts/generate_certs.sh --other-ca), made once per process.
struct certificate_paths
{
    std::filesystem::path ca;
    std::filesystem::path server_cert;
    std::filesystem::path server_key;
    std::filesystem::path client_cert;
    std::filesystem::path client_key;
    // A second, unrelated CA and a client certificate it signed: mutual TLS must refuse it.
    std::filesystem::path other_ca;
    std::filesystem::path other_client_cert;
    std::filesystem::path other_client_key;
};

// Generates (first call) and returns the run's certificates. Throws when generation fails.
const certificate_paths& test_certificates();

// A free TCP port on 127.0.0.1, as the kernel assigns it to a socket bound to port 0.
std::uint16_t free_loopback_port();

class nats_server
{
public:
    // Starts the server and waits until it accepts connections; throws std::runtime_error with
    // the server's log when it does not come up in time.
    explicit nats_server(nats_server_options options = {});
    ~nats_server();
    nats_server(const nats_server&) = delete;
    nats_server& operator=(const nats_server&) = delete;

    // nats://127.0.0.1:PORT, or tls://... when TLS is on.
    std::string url() const;
    // url() with the configured user:password@ or token@ in it.
    std::string url_with_credentials() const;
    std::uint16_t port() const { return port_; }
    std::uint16_t monitor_port() const { return monitor_port_; }
    const nats_server_options& options() const { return options_; }
    // Empty paths unless TLS is on.
    const certificate_paths& certs() const { return certs_; }
    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path log_path() const { return dir_ / "nats-server.log"; }
    std::string log() const;

    // Starts again on the same ports (after stop() or kill()), for reconnect tests.
    void start();
    // SIGTERM and wait (bounded; SIGKILL after 10 s).
    void stop();
    // SIGKILL: the server vanishes without closing anything gracefully.
    void kill();
    // SIGSTOP / SIGCONT: the server keeps its sockets but stops answering (stale connections).
    void freeze();
    void thaw();
    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }

private:
    void write_config() const;
    void spawn();
    // Waits until the client port accepts connections; false when the process exited first.
    bool wait_ready(std::chrono::milliseconds limit);
    void reap(std::chrono::milliseconds limit);
    void dump_log_if_asked() const;

    nats_server_options options_;
    certificate_paths certs_;
    std::filesystem::path dir_;
    std::uint16_t port_ = 0;
    std::uint16_t monitor_port_ = 0;
    pid_t pid_ = -1;
    bool frozen_ = false;
};

} // namespace beamline::test
