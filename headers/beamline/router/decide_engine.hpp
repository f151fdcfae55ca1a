#pragma once
// The decide pipeline, independent of the transport: core NATS, JetStream and an HTTP dry run all
// hand it bytes and header values and get back a reply and what else to publish.
//
//   intake()  — any thread: size, JSON, version, required fields, formats, tenant allow-list
//   decide()  — the tenant's strand: idempotency, rate limits, policy, selection, reply, assignment
//
// Every call produces exactly one reply; `outcome` says what happened, for metrics and logs.
// `decide_pipeline` runs these two on the right threads and publishes what they produce.

#include "beamline/router/circuit_breaker.hpp"
#include "beamline/router/decide_errors.hpp"
#include "beamline/router/decide_request.hpp"
#include "beamline/router/decision.hpp"
#include "beamline/router/exec_assignment.hpp"
#include "beamline/router/policy_store.hpp"
#include "beamline/router/tenant_state.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace beamline::router
{

struct idempotency_claim;

struct decide_settings
{
    intake_limits intake;
    std::string assignment_subject = "caf.exec.assign.v1"; ///< when the request names none
};

struct decide_outcome
{
    std::string reply;                 ///< the JSON to send back, always set
    bool idempotent_replay = false;    ///< send with header Beamline-Idempotent-Replay: true
    std::optional<reply_error> error;  ///< unset on success
    std::optional<intake_code> intake; ///< set for intake refusals
    std::optional<decision_reason> reason;
    std::string provider_id;
    std::uint32_t retry_after_ms = 0;
    /// The chosen provider's breaker moved when the decision took it (open → half_open, seen now).
    std::optional<breaker_transition> breaker_change;
    /// The decision took a half-open provider's trial (its breaker's listing changed).
    bool breaker_trial = false;

    /// ExecAssignment to publish after the reply (push_assignment and a successful decision).
    bool assignment = false;
    std::string assignment_subject;
    std::string assignment_body;
    assignment_headers assignment_hdrs;

    /// For log lines: what is known about the request.
    std::string tenant_id;
    std::string request_id;
    std::string trace_id;
    std::string message; ///< error message, for logs
    /// Where the correlation fields came from; set once intake accepted the request.
    std::optional<correlation_sources> sources;
    /// The request had an idempotency key the store did not hold (a first decision).
    bool idempotency_miss = false;
};

class decide_engine
{
public:
    using clock = std::chrono::steady_clock;

    decide_engine(const policy_store& policies, decide_settings settings);

    /// Stateless validation. On refusal the reply is already in `out`.
    std::optional<decide_request> intake(std::string_view body, const request_meta& meta, decide_outcome& out) const;
    /// The same into `request` (the pipeline's job): the accepted request is moved once fewer.
    /// False, and `request` empty, on refusal.
    bool intake(std::string_view body, const request_meta& meta, decide_outcome& out,
                std::optional<decide_request>& request) const;

    /// Stateful part, on the tenant's strand. Under a policy whose `circuit_breaker` is enabled,
    /// the tenant's breakers keep their providers out of selection and a half-open provider that
    /// is chosen takes one of its trials.
    void decide(decide_request& request, tenant_state& tenant, clock::time_point now, decide_outcome& out) const;

    /// A refusal decided outside the pipeline (per-tenant in-flight cap, overload, internal error).
    static void refuse(const decide_request* request, reply_error code, std::string message,
                       std::uint32_t retry_after_ms, decide_outcome& out,
                       std::optional<intake_code> intake = std::nullopt);

    /// The decision in `out` succeeded but its ExecAssignment could not be published: the decision
    /// is forgotten by the idempotency store (a retry must push again, not replay) and the reply
    /// becomes the refusal. On the tenant's strand.
    void withdraw(const decide_request& request, tenant_state& tenant, reply_error code,
                  std::optional<intake_code> intake, std::string message, std::uint32_t retry_after_ms,
                  decide_outcome& out) const;

    /// router.state=jetstream: the successful decision in `out` was claimed in the shared
    /// idempotency store and `claim` is how that went. Won: `out` stands. Replay: `out` becomes the
    /// winner's reply (remembered here too). Conflict: the IDEMPOTENCY_VIOLATION refusal.
    /// Unavailable: withdrawn as `overloaded` (nothing dispatched, a retry may succeed). On the
    /// tenant's strand.
    void settle_claim(const decide_request& request, tenant_state& tenant, const idempotency_claim& claim,
                      clock::time_point now, std::uint32_t retry_after_ms, decide_outcome& out) const;

    const decide_settings& settings() const noexcept { return settings_; }
    void set_tenant_allow_list(tenant_allow_list list) { settings_.intake.tenants = std::move(list); }

private:
    static void refuse_conflict(const decide_request& request, decide_outcome& out);

    const policy_store& policies_;
    decide_settings settings_;
};

} // namespace beamline::router
