#pragma once
// One decide request from bytes to reply, for any transport: core NATS, JetStream and an HTTP dry run
// all call `submit(bytes, headers, reply sink)`.
//
//   submit()            caller's thread: the admission gate (backpressure hook), then intake:
//                       size → JSON object → version → fields → formats → allow-list (on a worker
//                       instead, after a copy, with `intake_on_submit` off); then the tenant
//                       registry: a tenant without state whose policy does not exist is refused
//                       here (`policy_not_found`), and gets no state
//   the pacer           only when one is set (a diagnostic slowdown): the decision waits its turn
//   the tenant's strand (dispatched: run at once on this thread when the strand is idle; with
//                       `one_thread`, run at once without it)
//                       idempotency, rate limits, policy, selection (decide_engine); the
//                       ExecAssignment published through `assignment_publisher`; the reply encoded
//   the sink            the reply handed to `reply_sink` — exactly once per submit, whatever happened
//
// Beside decisions: `record_result()` feeds a tenant's circuit breakers on its strand (from the
// results loop, any thread), `reset_breakers()` and `breakers()` serve the operator.
//
// Hooks for the wiring: `inflight()`, `decide_observer::decided` (outcome and latency of every
// submit), `admission_gate` (refuse with `overloaded` before any intake work). The pipeline knows
// no transport: publishers and sinks are interfaces the transport implements.

#include "beamline/router/breaker_status.hpp"
#include "beamline/router/decide_engine.hpp"
#include "beamline/router/shared_state.hpp"
#include "beamline/router/tenant_registry.hpp"

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace beamline::router
{

/// Why a transport would not take a message.
enum class publish_refusal
{
    none,
    too_large,   ///< over the server's payload (or line) limit: retrying the same request cannot help
    invalid,     ///< a subject or header the server would refuse
    unavailable, ///< not connected, or the outbound buffer is full: may work later
};

constexpr std::string_view to_string(publish_refusal r) noexcept
{
    switch (r)
    {
    case publish_refusal::none:
        return "none";
    case publish_refusal::too_large:
        return "too_large";
    case publish_refusal::invalid:
        return "invalid";
    case publish_refusal::unavailable:
        return "unavailable";
    }
    return "unavailable";
}

struct publish_result
{
    publish_refusal refusal = publish_refusal::none;
    std::string message; ///< why, naming the limit, when refused

    bool ok() const noexcept { return refusal == publish_refusal::none; }
};

/// Where a submit's reply goes. `send_reply` is called exactly once per submit, from any thread;
/// `outcome.reply` is the JSON, `outcome.idempotent_replay` asks for the replay header.
class reply_sink
{
public:
    virtual ~reply_sink() = default;
    virtual publish_result send_reply(std::string_view address, const decide_outcome& outcome) noexcept = 0;
};

/// Publishes ExecAssignments (SPEC §4.5). Called on the tenant's strand; must not block.
class assignment_publisher
{
public:
    virtual ~assignment_publisher() = default;
    virtual publish_result publish_assignment(std::string_view subject, std::string_view body,
                                              const assignment_headers& headers) noexcept = 0;
};

struct overload_refusal
{
    std::uint32_t retry_after_ms = 0;
    std::string message;
};

/// Asked once per submit before any intake work; a refusal is answered `overloaded` with its
/// `retry_after_ms`. Called from the submitting thread; must be cheap.
class admission_gate
{
public:
    virtual ~admission_gate() = default;
    virtual std::optional<overload_refusal> check() noexcept = 0;
};

/// Holds each admitted decision before its tenant's strand runs it: the daemon's diagnostic
/// slowdown (backpressure.diagnostic_decide_delay_us) makes decisions slow this way, so that a
/// slow decision waits on a timer, in flight, and blocks no thread (the NATS reader included).
class decision_pacer
{
public:
    virtual ~decision_pacer() = default;
    /// Calls `start` exactly once, from any thread, when the decision may run. Throws only before
    /// taking it.
    virtual void hold(std::function<void()> start) = 0;
};

/// What the wiring learns of each decision (metrics, logs). Calls come from any thread.
class decide_observer
{
public:
    virtual ~decide_observer() = default;
    /// A tenant's state is being created; what is returned lives (and is told of requests) with it.
    virtual std::unique_ptr<tenant_observer> tenant_created(std::string_view /*tenant_id*/) { return nullptr; }
    /// Once per submit, after the reply went to the sink; `reply` is the sink's result,
    /// `latency` runs from submit to `finished`, read from the pipeline's clock (`parts.now`) once
    /// for both, so an observer needs no clock of its own.
    virtual void decided(const decide_outcome&, const publish_result& /*reply*/,
                         std::chrono::steady_clock::duration /*latency*/,
                         std::chrono::steady_clock::time_point /*finished*/) noexcept
    {
    }
    virtual void assignment_published(const decide_outcome&) noexcept {}
    /// The decision's ExecAssignment was refused by the publisher; `outcome` still holds the
    /// decision (the reply that follows is the refusal).
    virtual void assignment_refused(const decide_outcome&, const publish_result&) noexcept {}
    /// An exception escaped a step; the caller gets `internal`.
    virtual void internal_error(const decide_outcome&, std::string_view /*what*/) noexcept {}
    /// A tenant's breaker for a provider changed state (from a result, a decision's look, a reset).
    /// On the tenant's strand.
    virtual void breaker_transition(std::string_view /*tenant_id*/, std::string_view /*provider_id*/,
                                    const router::breaker_transition&) noexcept
    {
    }
};

struct decide_pipeline_settings
{
    decide_settings decide;
    tenant_registry_limits tenants;
    /// Run intake on the submitting thread (the bytes are parsed where they lie: no copy, one
    /// hand-off fewer), or copy them and run it on any worker (the submitting thread is free at
    /// once). On: measured side by side on a loaded 2-core box, ~7-10% less router CPU per
    /// decide at equal throughput (provisional; the load generator, not the router, was the limit).
    bool intake_on_submit = true;
    /// The executor is run by one thread, the one that submits: that alone serialises a tenant's
    /// decisions, so each runs at once, without a hand-off to the tenant's strand (its locks, its
    /// reference counts). What other threads send a tenant (results, resets) still goes through the
    /// strand, which runs on that same thread. Off: any number of threads, every decision on the strand.
    bool one_thread = false;
    std::uint32_t inflight_cap_retry_after_ms = 10;
    /// `retry_after_ms` of an `overloaded` reply when the registry has no room or the assignment
    /// publisher is unavailable.
    std::uint32_t unavailable_retry_after_ms = 1000;
};

/// The pipeline's collaborators. Only `now` has a default; a null publisher refuses every
/// ExecAssignment as unavailable.
struct decide_pipeline_parts
{
    std::shared_ptr<assignment_publisher> assignments;
    std::shared_ptr<admission_gate> gate;
    std::shared_ptr<decide_observer> observer;
    std::function<std::chrono::steady_clock::time_point()> now = [] { return std::chrono::steady_clock::now(); };
    std::uint64_t seed = 0x5eed; ///< the tenants' random streams start from it
    /// router.state=jetstream: a successful idempotent decision waits (off the strand) for its
    /// create-only claim before its assignment and reply go out. Null: local idempotency only.
    std::shared_ptr<shared_idempotency> idempotency;
    /// Null: every decision runs as soon as its strand is free.
    std::shared_ptr<decision_pacer> pacer;
};

class decide_pipeline
{
public:
    using clock = std::chrono::steady_clock;

    /// `policies` must outlive the pipeline and every handler it has posted.
    decide_pipeline(asio::io_context::executor_type ex, const policy_store& policies,
                    decide_pipeline_settings settings, decide_pipeline_parts parts);
    ~decide_pipeline();
    decide_pipeline(const decide_pipeline&) = delete;
    decide_pipeline& operator=(const decide_pipeline&) = delete;

    /// Takes one decide request. `body` and `meta` are copied before this returns; the reply goes
    /// to `sink->send_reply(address, ...)` exactly once (possibly before this returns).
    void submit(std::string_view body, const request_meta& meta, std::shared_ptr<reply_sink> sink,
                std::string_view address);

    /// One execution result for the tenant's breaker of `provider_id`; from any thread, returns at
    /// once. Recorded on the tenant's strand with the breaker block of the tenant's policies (the
    /// first, in policy-id order, that enables one). A tenant without such a policy gets no state.
    void record_result(std::string_view tenant_id, std::string_view provider_id, breaker_outcome outcome);
    /// Operator reset of one breaker (`provider_id` set), a tenant's (`tenant_id` set) or all
    /// (both empty); from any thread. Done on each tenant's strand; returns how many breakers the
    /// status table listed for that choice (those the reset closes).
    std::size_t reset_breakers(std::string_view tenant_id, std::string_view provider_id);
    /// Every tenant's breakers, readable from any thread (updated by the strands).
    const breaker_status_table& breakers() const noexcept;

    /// Submits whose reply has not been sent yet.
    std::size_t inflight() const noexcept;
    const tenant_registry& tenants() const noexcept;
    const decide_engine& engine() const noexcept;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

} // namespace beamline::router
