#pragma once
// Breaker events among routers (SPEC §14) over core NATS: each result this router metered for the
// first time is published on `router.breaker_events_subject` (no queue group, so every router gets
// it); each event from another router feeds this router's breaker of that (tenant, provider); this
// router's own events, echoed back by the server, are skipped (it fed its breaker when it
// processed the result). What an event says and how it is read: router/breaker_event.
//
// Wiring only. Core NATS is at most once: an event lost while a router is disconnected is one
// result that router's breaker did not see, which thresholds over a window tolerate.

#include "beamline/metrics/registry.hpp"
#include "beamline/nats/client.hpp"
#include "beamline/router/breaker_event.hpp"
#include "beamline/router/exec_result.hpp"

#include <functional>
#include <memory>
#include <string>

namespace beamline::app
{

/// A random id naming this router process in its breaker events: `router-<16 hex digits>`.
std::string new_router_id();

class breaker_event_relay
{
public:
    /// Feeds a breaker: (tenant, provider, outcome), from the NATS connection's strand.
    using apply_fn = std::function<void(std::string_view, std::string_view, router::breaker_outcome)>;

    breaker_event_relay(std::shared_ptr<nats::client> client, std::string subject, std::string router_id,
                        metrics::registry& reg, apply_fn apply);
    ~breaker_event_relay();
    breaker_event_relay(const breaker_event_relay&) = delete;
    breaker_event_relay& operator=(const breaker_event_relay&) = delete;

    /// A result this router metered for the first time; ignored outcomes are not published.
    void publish(const router::exec_result& r, router::breaker_outcome outcome);
    /// Subscribes to the other routers' events (kept across reconnects by the client).
    std::error_code subscribe();
    void unsubscribe();

    const std::string& router_id() const noexcept { return router_id_; }
    const std::string& subject() const noexcept { return subject_; }

private:
    void on_event(std::string_view body);

    std::shared_ptr<nats::client> client_;
    std::string subject_;
    std::string router_id_;
    apply_fn apply_;
    nats::subscription_ptr sub_;
    metrics::counter& published_;
    metrics::counter& publish_failed_;
    metrics::counter& applied_;
    metrics::counter& own_;
    metrics::counter& invalid_;
};

} // namespace beamline::app
