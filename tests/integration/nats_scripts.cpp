// The NATS operations scripts run end to end, as an operator runs them, on non-default ports and
// in a temporary artifacts directory, so they never touch a developer's running server.
#include "libnats_peer.hpp"
#include "nats_server.hpp"
#include "shell.hpp"

#include <arpa/inet.h>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

using namespace beamline::test;
namespace fs = std::filesystem;

namespace
{

// A private artifacts directory and port pair; stops whatever the scripts started in it.
struct script_environment
{
    fs::path artifacts;
    std::uint16_t port = free_loopback_port();
    std::uint16_t monitor_port = free_loopback_port();

    script_environment()
    {
        std::string pattern = (fs::temp_directory_path() / "beamline-scripts-XXXXXX").string();
        BOOST_TEST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        artifacts = pattern;
    }
    ~script_environment()
    {
        run("nats_stop.sh");
        std::error_code ignored;
        fs::remove_all(artifacts, ignored);
    }

    std::string env() const
    {
        return "BUILD_DIR='" BEAMLINE_BINARY_DIR "' ARTIFACTS_DIR='" + artifacts.string() +
               "' NATS_PORT=" + std::to_string(port) + " NATS_MONITOR_PORT=" + std::to_string(monitor_port) +
               " CERTS_DIR='" + test_certificates().ca.parent_path().string() +
               "' NATS_START_TIMEOUT=10 NATS_STOP_TIMEOUT=5 ";
    }
    command_result run(const std::string& script_and_args) const
    {
        command_result result = run_shell(env() + "bash scripts/" + script_and_args);
        BOOST_TEST_MESSAGE("$ scripts/" << script_and_args << " -> " << result.exit_code << "\n"
                                        << result.output);
        return result;
    }
    std::string url(const char* scheme) const
    {
        return std::string(scheme) + "://127.0.0.1:" + std::to_string(port);
    }
};

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

// Holds a TCP port open the way an unrelated program would.
struct port_squatter
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    explicit port_squatter(std::uint16_t port)
    {
        int on = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        BOOST_TEST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        BOOST_TEST_REQUIRE(::listen(fd, 4) == 0);
    }
    ~port_squatter() { ::close(fd); }
    port_squatter(const port_squatter&) = delete;
    port_squatter& operator=(const port_squatter&) = delete;
};

} // namespace

BOOST_AUTO_TEST_SUITE(nats_scripts)

BOOST_AUTO_TEST_CASE(start_status_stop_lifecycle_is_idempotent)
{
    script_environment scripts;

    auto first = scripts.run("nats_start.sh");
    BOOST_TEST_REQUIRE(first.exit_code == 0, first.output);
    BOOST_TEST(contains(first.output, "nats-server started"));
    BOOST_TEST(fs::exists(scripts.artifacts / "nats.pid"));
    BOOST_TEST(fs::exists(scripts.artifacts / "nats.log"));
    BOOST_TEST(fs::is_directory(scripts.artifacts / "nats-store" / "jetstream"));

    auto again = scripts.run("nats_start.sh");
    BOOST_TEST(again.exit_code == 0, again.output);
    BOOST_TEST(contains(again.output, "already running"));

    // What an operator's client sees: the server on the configured port, with JetStream.
    peer_options options;
    options.url = scripts.url("nats");
    {
        libnats_peer peer(options);
        BOOST_TEST_REQUIRE(peer.connected(), peer.error());
        auto info = peer.request("$JS.API.INFO", "", std::chrono::seconds(5));
        BOOST_TEST(info.has_value());

        auto status = scripts.run("nats_status.sh");
        BOOST_TEST(status.exit_code == 0, status.output);
        BOOST_TEST(contains(status.output, "UP"));
        BOOST_TEST(contains(status.output, "tls:         off"));
        BOOST_TEST(contains(status.output, "version:     2."));
        BOOST_TEST(contains(status.output, "connections: 1"));
        BOOST_TEST(contains(status.output, scripts.url("nats")));
    }

    auto stop = scripts.run("nats_stop.sh");
    BOOST_TEST(stop.exit_code == 0, stop.output);
    BOOST_TEST(contains(stop.output, "nats-server stopped"));
    BOOST_TEST(!fs::exists(scripts.artifacts / "nats.pid"));
    libnats_peer after_stop(options);
    BOOST_TEST(!after_stop.connected());

    auto stop_again = scripts.run("nats_stop.sh");
    BOOST_TEST(stop_again.exit_code == 0, stop_again.output);
    BOOST_TEST(contains(stop_again.output, "not running"));

    auto down = scripts.run("nats_status.sh");
    BOOST_TEST(down.exit_code != 0, down.output);
    BOOST_TEST(contains(down.output, "DOWN"));
}

BOOST_AUTO_TEST_CASE(start_with_tls_requires_our_client_certificate)
{
    script_environment scripts;
    auto start = scripts.run("nats_start.sh --tls");
    BOOST_TEST_REQUIRE(start.exit_code == 0, start.output);
    BOOST_TEST(contains(start.output, scripts.url("tls")));

    auto status = scripts.run("nats_status.sh");
    BOOST_TEST(status.exit_code == 0, status.output);
    BOOST_TEST(contains(status.output, "tls:         on (mutual"));

    // Same mode again is fine; a plain start over a TLS server is refused with the reason.
    BOOST_TEST(scripts.run("nats_start.sh --tls").exit_code == 0);
    auto plain = scripts.run("nats_start.sh");
    BOOST_TEST(plain.exit_code != 0, plain.output);
    BOOST_TEST(contains(plain.output, "mutual TLS mode"));

    const certificate_paths& certs = test_certificates();
    peer_options ours;
    ours.url = scripts.url("tls");
    ours.ca_file = certs.ca.string();
    ours.expected_hostname = "localhost";
    peer_options anonymous = ours;
    ours.cert_file = certs.client_cert.string();
    ours.key_file = certs.client_key.string();
    libnats_peer with_certificate(ours);
    BOOST_TEST(with_certificate.connected(), with_certificate.error());
    libnats_peer without_certificate(anonymous);
    BOOST_TEST(!without_certificate.connected());
}

BOOST_AUTO_TEST_CASE(a_port_held_by_another_process_is_named)
{
    script_environment scripts;
    port_squatter squatter(scripts.port);
    auto start = scripts.run("nats_start.sh");
    BOOST_TEST(start.exit_code != 0, start.output);
    BOOST_TEST(contains(start.output, "port " + std::to_string(scripts.port)));
    BOOST_TEST(contains(start.output, "already in use"));
    BOOST_TEST(!fs::exists(scripts.artifacts / "nats.pid"));
}

BOOST_AUTO_TEST_CASE(validate_nats_tls_passes_every_check)
{
    script_environment scripts;
    auto result = scripts.run("validate_nats_tls.sh");
    BOOST_TEST(result.exit_code == 0, result.output);
    BOOST_TEST(contains(result.output, "PASS  client without a certificate is refused"));
    BOOST_TEST(contains(result.output, "PASS  client certificate from another CA is refused"));
    BOOST_TEST(contains(result.output, "PASS  request over mutual TLS gets the echo reply"));
    BOOST_TEST(!contains(result.output, "FAIL"));
    // It stops the server it started.
    BOOST_TEST(scripts.run("nats_status.sh").exit_code != 0);
}

BOOST_AUTO_TEST_CASE(validate_nats_tls_fails_against_a_server_without_client_verification)
{
    // A server that takes TLS but not client certificates, where the scripts expect their own:
    // the validation must say FAIL rather than pass on a weaker setup.
    script_environment scripts;
    const certificate_paths& certs = test_certificates();
    // Named like the real configuration, so the scripts take it for their own TLS server.
    std::ofstream(scripts.artifacts / "nats_tls.conf")
        << "tls { cert_file: \"" << certs.server_cert.string() << "\"\n key_file: \""
        << certs.server_key.string() << "\" }\n";
    const std::string monitor = "http://127.0.0.1:" + std::to_string(scripts.monitor_port);
    auto start = run_shell(". scripts/lib.sh && cd '" + scripts.artifacts.string() +
                           "' && { setsid \"$(nats_server_bin)\" -a 127.0.0.1 -p " +
                           std::to_string(scripts.port) + " -m " + std::to_string(scripts.monitor_port) +
                           " -c nats_tls.conf >nats.log 2>&1 </dev/null & echo $! > nats.pid; } && "
                           "for i in $(seq 100); do curl -fs " +
                           monitor +
                           "/healthz && exit 0; sleep 0.1; done; "
                           "cat nats.log; exit 1");
    BOOST_TEST_REQUIRE(start.exit_code == 0, start.output);
    auto result = scripts.run("validate_nats_tls.sh");
    BOOST_TEST(result.exit_code != 0, result.output);
    BOOST_TEST(contains(result.output, "FAIL  client without a certificate is refused"));
}

BOOST_AUTO_TEST_CASE(generate_certs_writes_a_usable_set_and_keeps_it)
{
    script_environment scripts;
    const fs::path dir = scripts.artifacts / "certs";
    const std::string env = "CERTS_DIR='" + dir.string() + "' ";

    auto first = run_shell(env + "bash scripts/generate_certs.sh");
    BOOST_TEST_REQUIRE(first.exit_code == 0, first.output);
    for (const char* file :
         {"ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "client.pem", "client-key.pem"})
        BOOST_TEST(contains(first.output, (dir / file).string()), file);
    for (const char* key : {"ca-key.pem", "server-key.pem", "client-key.pem"})
    {
        const bool owner_only = (fs::status(dir / key).permissions() & fs::perms::all) ==
                                (fs::perms::owner_read | fs::perms::owner_write);
        BOOST_TEST(owner_only, key << " must be mode 0600");
    }

    auto server = run_shell("cd '" + dir.string() +
                            "' && openssl verify -purpose sslserver -CAfile ca.pem server.pem && "
                            "openssl x509 -in server.pem -noout -ext subjectAltName");
    BOOST_TEST(server.exit_code == 0, server.output);
    BOOST_TEST(contains(server.output, "DNS:localhost"));
    BOOST_TEST(contains(server.output, "IP Address:127.0.0.1"));
    auto client =
        run_shell("cd '" + dir.string() + "' && openssl verify -purpose sslclient -CAfile ca.pem client.pem");
    BOOST_TEST(client.exit_code == 0, client.output);

    auto again = run_shell(env + "bash scripts/generate_certs.sh");
    BOOST_TEST(again.exit_code == 0, again.output);
    BOOST_TEST(contains(again.output, "kept valid certificates"));
    BOOST_TEST(!contains(again.output, "wrote"));

    // A key that no longer matches its certificate makes the set invalid: it is regenerated.
    fs::copy_file(dir / "server-key.pem", dir / "client-key.pem", fs::copy_options::overwrite_existing);
    auto repaired = run_shell(env + "bash scripts/generate_certs.sh --other-ca");
    BOOST_TEST(repaired.exit_code == 0, repaired.output);
    BOOST_TEST(contains(repaired.output, "wrote " + (dir / "client-key.pem").string()));
    BOOST_TEST(contains(repaired.output, "wrote " + (dir / "other" / "client.pem").string()));
    auto other = run_shell("cd '" + dir.string() + "' && openssl verify -CAfile ca.pem other/client.pem");
    BOOST_TEST(other.exit_code != 0, "a client certificate from the other CA must not verify against ours");
}

BOOST_AUTO_TEST_CASE(every_script_has_help)
{
    for (const char* script :
         {"nats_start.sh", "nats_status.sh", "nats_stop.sh", "generate_certs.sh", "validate_nats_tls.sh"})
    {
        auto help = run_shell(std::string("bash scripts/") + script + " --help");
        BOOST_TEST(help.exit_code == 0, script);
        BOOST_TEST(contains(help.output, std::string("scripts/") + script), script);
        auto bad = run_shell(std::string("bash scripts/") + script + " --no-such-flag");
        BOOST_TEST(bad.exit_code != 0, script);
        BOOST_TEST(contains(bad.output, "unknown argument"), script);
    }
}

BOOST_AUTO_TEST_SUITE_END()
