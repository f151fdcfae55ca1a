#pragma once
// The daemon's decide service, as wiring: the NATS client and its options, the decide subscription
// feeding `router::decide_pipeline` (which owns tenants, intake, decisions and the one reply), the
// pipeline's transport over the client, metrics and logs (`decide_telemetry`), health and status.
// A request without a reply-to gets its reply on `<decide subject>.reply`.

#include "beamline/app/backpressure_gate.hpp"
#include "beamline/app/config.hpp"
#include "beamline/metrics/registry.hpp"
#include "beamline/nats/client.hpp"
#include "beamline/router/decide_pipeline.hpp"
#include "beamline/router/policy_store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

namespace beamline::app
{

namespace asio = boost::asio;

class kv_policy_source;

struct service_health
{
    bool nats_connected = false;
    bool subscribed = false;
    bool policies_loaded = false;
    bool draining = false;
    bool overloaded = false; ///< backpressure active: alive and healthy, but not ready for more
    std::string reason; ///< why not ready, in words
    std::string results_problem; ///< why the JetStream results loop is not running; empty when it is (or is off)
    bool ready() const noexcept
    {
        return nats_connected && subscribed && policies_loaded && !draining && !overloaded && results_problem.empty();
    }
};

/// The NATS client settings of `cfg` (nats.*), as the daemon connects; the CLI's admin verbs use
/// them too, so `--via nats` reaches the daemon the way the daemon itself is configured.
nats::client_options client_options_from(const config& cfg);

class router_service
{
public:
    /// Everything runs on `io`, except, when `decide_io` is given, the NATS connection and the
    /// decide pipeline (its tenants' strands): those run on `decide_io`, which the daemon gives a
    /// thread of its own, so that a message is read, decided and answered on one thread, and
    /// HTTP, timers, results, admin and policy reloads never hold it up. `decide_io` must be run
    /// by exactly one thread (it may be `io`, if that is): decisions then run where they are read,
    /// without a hand-off to their tenant's strand. Both must outlive this.
    router_service(asio::io_context& io, const config& cfg, metrics::registry& reg,
                   asio::io_context* decide_io = nullptr);
    ~router_service();
    router_service(const router_service&) = delete;
    router_service& operator=(const router_service&) = delete;

    /// Called once, on the NATS connection's strand, when the connection is closed for good other
    /// than by drain(): every server refused or was unreachable for `nats.max_reconnect` attempts.
    /// Set it before start().
    void on_nats_gave_up(std::function<void(std::error_code)> handler);

    /// Loads policies, starts connecting to NATS (retrying in the background) and subscribes.
    /// Returns the first policy load report.
    router::load_report start();

    /// Graceful stop: unsubscribe, let in-flight decisions finish (bounded), flush, close NATS.
    asio::awaitable<void> drain(std::chrono::milliseconds timeout);

    router::load_report reload_policies();
    service_health health() const;
    /// `GET /v1/status` body.
    std::string status_json() const;

    router::policy_store& policies() noexcept;
    /// router.state=jetstream: where policies are written (KV); null with router.state=local.
    kv_policy_source* shared_policies() noexcept;
    nats::client& nats() noexcept;
    /// The decide pipeline: breakers (listing, reset) and the entry point for execution results.
    router::decide_pipeline& pipeline() noexcept;
    std::size_t inflight() const noexcept;
    /// The daemon's io_context executor (the NATS client's): where admin coroutines run.
    asio::io_context::executor_type executor() const noexcept;
    backpressure_gate& backpressure() noexcept;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

} // namespace beamline::app
