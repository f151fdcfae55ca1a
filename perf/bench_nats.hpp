#pragma once
// Connection set-up shared by the load generator and the echo responder (libnats).

#include <nats/nats.h>
#include <string>

namespace beamline::perf
{

struct ConnectionSettings
{
    std::string url = "nats://127.0.0.1:4222";
    std::string tls_ca;
    std::string tls_cert;
    std::string tls_key;
    std::string name;
    // Off, the library's flusher coalesces writes but first sleeps a millisecond; on, every
    // publish is written at once. Throughput wants the first, latency at low rates the second.
    bool send_asap = false;
    // The library's write buffer; 0 keeps its default (32 KiB).
    int io_buffer_bytes = 0;
    // Called once the connection is closed for good (reconnection is off: a bench never hides a
    // lost server behind a reconnect).
    natsConnectionHandler on_closed = nullptr;
};

// Takes BEAMLINE_NATS_URL and BEAMLINE_NATS_TLS_{CA,CERT,KEY} from the environment when set: the
// variables the router reads, so a responder can be started in the router's place unchanged.
void apply_router_environment(ConnectionSettings& settings);

// Parses the options every bench binary shares (--url, --tls-ca, --tls-cert, --tls-key); returns
// true when argv[i] (and its value, advancing i) was one of them. Sets `error` on a missing value.
bool parse_connection_option(int argc, char** argv, int& i, ConnectionSettings& settings, std::string& error);

// Connects with batching left to the library's flusher (send-as-soon-as-possible off) and large
// I/O buffers; prints the cause on stderr and returns nullptr on failure.
natsConnection* connect(const ConnectionSettings& settings);

// Reads the value after option argv[i] into `out`; false (with `error` set) when it is missing.
bool take_value(int argc, char** argv, int& i, std::string& out, std::string& error);

} // namespace beamline::perf
