#pragma once
// The daemon's configuration: typed sections, defaults that work with no sources at all, and
// loading from an INI file, `BEAMLINE_<SECTION>_<KEY>` environment variables and `--section.key`
// flags, in rising precedence. Every error names the key and where its value came from.

#include "beamline/common/address.hpp"

#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace beamline::app
{

using common::host_port; // http.listen, parsed by common::parse_listen_address
using common::to_string;

struct nats_config
{
    std::vector<std::string> url{"nats://127.0.0.1:4222"};
    std::string name = "beamline-router";
    std::string user;
    std::string password; // secret
    std::string token;    // secret
    std::string tls_ca;
    std::string tls_cert;
    std::string tls_key;
    std::chrono::milliseconds connect_timeout_ms{2000};
    std::chrono::milliseconds ping_interval_ms{120'000};
    std::uint32_t max_pings_out = 2;
    std::chrono::milliseconds reconnect_wait_ms{2000};
    std::chrono::milliseconds reconnect_jitter_ms{100};
    std::int32_t max_reconnect = 60; // -1: retry forever
    std::uint64_t reconnect_buffer_bytes = 8 * 1024 * 1024;
    std::string monitor_url = "http://127.0.0.1:8222"; // nats-server's monitoring port, for `report`
};

struct router_config
{
    std::string decide_subject = "beamline.router.v1.decide";
    std::string queue_group = "beamline-router";
    std::string breaker_events_subject = "beamline.router.v1.breaker.events"; // SPEC §14, no queue group
    std::string policies_dir = "./policies";
    // Where policies, idempotency records and sticky bindings live: "local" (this process) or
    // "jetstream" (KV buckets shared by every router on the cluster; SPEC §14).
    std::string state = "local";
    unsigned threads = 0; // filled with the number of cores by default_config()
    std::uint64_t max_payload = 1024 * 1024;
    std::string assignment_subject = "caf.exec.assign.v1";
    std::string assignment_subject_prefix = "caf.exec.assign.";
    std::string status_subject = "beamline.router.v1.status.backpressure"; // backpressure status, request/reply
    std::string admin_subject_prefix = "beamline.router.v1.admin.";           // admin ops over NATS, token required
    std::chrono::seconds idempotency_ttl_s{3600};
    std::vector<std::string> tenants_allow; // empty: every tenant
    // Keys beyond the minimal table, which an operator needs to run the daemon for real.
    std::uint32_t tenant_inflight_max = 1000;
    std::uint32_t max_tenants = 100'000; // tenants with state (sticky, idempotency, buckets); LRU beyond
    std::uint32_t tenant_rps = 0;   // per-tenant token bucket, requests per second; 0: off
    std::uint32_t tenant_burst = 0; // its burst; 0: same as tenant_rps
    std::chrono::milliseconds drain_timeout_ms{10'000};
    std::string pidfile = "./beamline_router.pid";
};

struct http_config
{
    host_port listen{"0.0.0.0", 8080};
    std::string admin_token; // secret; unset: admin endpoints refuse
    std::chrono::milliseconds request_timeout_ms{10'000};
    std::chrono::milliseconds idle_timeout_ms{5'000};
    std::uint32_t max_connections = 1024;
    std::uint64_t body_limit = 1024 * 1024;
    std::uint32_t metrics_tenant_cap = 100; // beyond it, tenants share the label "other"
};

struct log_config
{
    std::string level = "info"; // debug | info | warn | error
    std::string file = "stderr";
};

/// The results loop over JetStream (SPEC §10): streams, the shared durable consumer.
struct jetstream_config
{
    bool enabled = true;   // false: no results loop, decide only
    bool bootstrap = true; // create/update the streams at start
    std::string results_stream = "BEAMLINE_RESULTS";
    std::string results_subject = "caf.exec.result.v1";
    std::string usage_stream = "BEAMLINE_USAGE";
    std::string usage_subject = "beamline.usage.v1.metered";
    std::string dlq_stream = "BEAMLINE_DLQ";
    std::string consumer = "router-results";
    std::uint32_t replicas = 1; // 3 on a three-node cluster
};

/// SPEC §12: each input's high and low mark, and the delays of the hysteresis.
struct backpressure_config
{
    bool enabled = true;
    std::uint64_t inflight_high = 1000;
    std::uint64_t inflight_low = 500;
    std::uint64_t latency_p95_high_ms = 250;
    std::uint64_t latency_p95_low_ms = 50;
    std::uint64_t pending_bytes_high = 4 * 1024 * 1024;
    std::uint64_t pending_bytes_low = 1024 * 1024;
    std::uint64_t consumer_pending_high = 10'000;
    std::uint64_t consumer_pending_low = 1'000;
    std::chrono::milliseconds activate_after_ms{1000};
    std::chrono::milliseconds recover_after_ms{5000};
    std::chrono::milliseconds retry_after_base_ms{250};
    std::chrono::milliseconds retry_after_max_ms{30'000};
    std::chrono::milliseconds evaluate_interval_ms{100};
    /// Test and diagnostic knob: every decision takes at least this long (0: off), so a test or an
    /// operator rehearsing the runbook can overload the router with modest load.
    std::chrono::microseconds diagnostic_decide_delay_us{0};
    /// How many of those slowed decisions run at once: capacity is about slots / delay.
    std::uint64_t diagnostic_decide_slots = 1;
};

struct config
{
    nats_config nats;
    router_config router;
    http_config http;
    log_config log;
    jetstream_config jetstream;
    backpressure_config backpressure;
};

/// The configuration with no file, environment or flags: `threads` is the number of cores.
config default_config();

/// Where values come from. `environment` holds variables by name. Every `BEAMLINE_<SECTION>_<KEY>`
/// variable is configuration: one whose section or key is unknown (`BEAMLINE_NAT_URL`) is an
/// error, except the few the scripts and tests use (`BEAMLINE_ROUTER_BIN`, `BEAMLINE_NATS_BENCH`,
/// `BEAMLINE_LIBNATS_LOADGEN`, `BEAMLINE_TEST_*`). Variables of another shape (`BEAMLINE_ROOT`,
/// `PATH`) are ignored.
struct config_sources
{
    std::optional<std::filesystem::path> file;
    std::map<std::string, std::string> environment;
    std::vector<std::string> flags; // "--nats.url=x" or "--nats.url", "x"
};

/// The process environment's `BEAMLINE_*` variables, for config_sources::environment.
std::map<std::string, std::string> process_environment();

struct config_error
{
    std::string key;     // "nats.max_pings_out", or empty when the error is not about one key
    std::string source;  // "config file router.conf line 7", "BEAMLINE_NATS_URL", "flag --nats.url"
    std::string message; // the whole text shown to the operator, naming key and source
};

/// Lets `result<config, config_error>::value()` throw when misused; callers test the result first.
[[noreturn]] void throw_exception_from_error(const config_error& e, const boost::source_location& loc);

using config_result = boost::system::result<config, config_error>;

/// Loads defaults, then the file, then the environment, then flags; later sources win per key.
/// Unknown keys, bad values and inconsistent combinations are errors.
config_result load_config(const config_sources& sources);

/// Checks what the daemon opens when it starts, so that `run` and `start` fail at once with the
/// key and the file named instead of retrying a connection that cannot succeed: the TLS files
/// (`nats.tls_ca`, `nats.tls_cert`, `nats.tls_key`) exist, are regular files and can be read.
std::optional<config_error> check_startup_files(const config& cfg);

/// Moves `--config PATH`, `--config=PATH` and every `--section.key[=value]` out of `args` into a
/// config_sources (environment left empty), keeping the other arguments in order.
config_sources take_config_arguments(std::vector<std::string>& args);

/// The effective configuration as INI text, with secrets shown as `***` and URL passwords hidden.
std::string render_config(const config& cfg);

/// Every key with its environment name, default and a one-line description, for `--help`.
struct config_key_info
{
    std::string name; // "nats.url"
    std::string env;  // "BEAMLINE_NATS_URL"
    std::string default_value;
    std::string help;
    bool secret = false;
};
const std::vector<config_key_info>& config_keys();

} // namespace beamline::app
