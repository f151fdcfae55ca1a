#include "beamline/router/decide_engine.hpp"

#include "beamline/router/decide_reply.hpp"
#include "beamline/router/idempotency_store.hpp"
#include "beamline/router/policy.hpp"
#include "beamline/router/shared_state.hpp"

namespace beamline::router
{

decide_engine::decide_engine(const policy_store& policies, decide_settings settings)
    : policies_(policies), settings_(std::move(settings))
{
}

std::optional<decide_request> decide_engine::intake(std::string_view body, const request_meta& meta,
                                                    decide_outcome& out) const
{
    std::optional<decide_request> request;
    intake(body, meta, out, request);
    return request;
}

bool decide_engine::intake(std::string_view body, const request_meta& meta, decide_outcome& out,
                           std::optional<decide_request>& request) const
{
    request.reset();
    auto r = parse_decide_request(body, meta, settings_.intake);
    if (r.ok())
    {
        out.tenant_id = r.request().tenant_id;
        out.request_id = r.request().request_id;
        out.trace_id = r.request().trace_id;
        out.sources = r.request().sources;
        request.emplace(std::move(r.request()));
        return true;
    }
    const auto& e = r.error();
    out.error = e.reply_code();
    out.intake = e.code;
    out.request_id = e.request_id;
    out.message = e.message;
    out.reply.clear();
    append_intake_error(out.reply, e);
    return false;
}

void decide_engine::refuse(const decide_request* request, reply_error code, std::string message,
                           std::uint32_t retry_after_ms, decide_outcome& out, std::optional<intake_code> intake)
{
    out.error = code;
    out.intake = intake;
    out.retry_after_ms = retry_after_ms;
    out.message = std::move(message);
    out.reply.clear();
    error_reply e;
    e.code = code;
    e.intake = intake;
    e.message = out.message;
    e.retry_after_ms = retry_after_ms;
    append_decide_error(out.reply, e, request ? context_of(*request) : reply_context{});
}

void decide_engine::withdraw(const decide_request& request, tenant_state& tenant, reply_error code,
                             std::optional<intake_code> intake, std::string message, std::uint32_t retry_after_ms,
                             decide_outcome& out) const
{
    if (!request.idempotency_key.empty()) tenant.idempotency().forget(request.idempotency_key);
    out.reason.reset();
    out.provider_id.clear();
    out.assignment = false;
    refuse(&request, code, std::move(message), retry_after_ms, out, intake);
}

void decide_engine::refuse_conflict(const decide_request& request, decide_outcome& out)
{
    auto e = idempotency_conflict(request);
    out.error = e.reply_code();
    out.intake = e.code;
    out.message = e.message;
    out.reply.clear();
    append_intake_error(out.reply, e);
}

void decide_engine::settle_claim(const decide_request& request, tenant_state& tenant, const idempotency_claim& claim,
                                 clock::time_point now, std::uint32_t retry_after_ms, decide_outcome& out) const
{
    using verdict = idempotency_claim::verdict;
    if (claim.kind == verdict::won) return;
    if (claim.kind == verdict::unavailable)
        return withdraw(request, tenant, reply_error::overloaded, std::nullopt,
                        "the idempotency record could not be stored, so nothing was dispatched: " + claim.message,
                        retry_after_ms, out);
    tenant.idempotency().forget(request.idempotency_key);
    out.reason.reset();
    out.provider_id.clear();
    out.assignment = false;
    out.breaker_change.reset();
    out.breaker_trial = false;
    out.idempotency_miss = false; // the deployment held the key: not a first decision
    if (claim.kind == verdict::conflict) return refuse_conflict(request, out);
    out.reply = claim.reply;
    out.idempotent_replay = true;
    tenant.idempotency().remember(request.idempotency_key, fingerprint_of(request), out.reply, now);
}

void decide_engine::decide(decide_request& request, tenant_state& tenant, clock::time_point now,
                           decide_outcome& out) const
{
    // A repeat of an idempotent request is answered from memory before it costs a token.
    std::optional<request_fingerprint> fingerprint;
    if (!request.idempotency_key.empty())
    {
        fingerprint = fingerprint_of(request);
        auto seen = tenant.idempotency().lookup(request.idempotency_key, *fingerprint, now);
        if (seen.kind == idempotency_store::verdict::replay)
        {
            out.reply.assign(seen.reply);
            out.idempotent_replay = true;
            return;
        }
        if (seen.kind == idempotency_store::verdict::conflict) return refuse_conflict(request, out);
        out.idempotency_miss = true;
    }

    if (auto* bucket = tenant.tenant_bucket())
    {
        auto admitted = bucket->try_acquire(now);
        if (!admitted.allowed)
            return refuse(&request, reply_error::rate_limited,
                          "tenant " + request.tenant_id + " is over its request rate", admitted.retry_after_ms, out);
    }

    // The policy the tenant's last decision used, while the store has not changed since: no lock,
    // no refcount traffic on the snapshot both threads share. The generation is read first, so a
    // reload racing this lookup can only make the next decision look again.
    auto& memo = tenant.last_policy();
    if (const auto generation = policies_.generation();
        !memo.in_service || memo.generation != generation || memo.in_service->id != request.policy_id)
    {
        memo.in_service = policies_.get(request.tenant_id, request.policy_id);
        memo.generation = generation;
    }
    const policy* pol = memo.in_service.get();
    if (!pol)
        return refuse(&request, reply_error::policy_not_found,
                      "no policy \"" + request.policy_id + "\" for tenant " + request.tenant_id, 0, out);

    if (pol->rate_limit.enabled)
    {
        auto& bucket = tenant.policy_bucket(request.policy_id, pol->rate_limit.requests_per_second,
                                            pol->rate_limit.burst, now);
        auto admitted = bucket.try_acquire(now);
        if (!admitted.allowed)
            return refuse(&request, reply_error::rate_limited,
                          "policy " + request.policy_id + " of tenant " + request.tenant_id + " allows " +
                              format_number(pol->rate_limit.requests_per_second) + " requests/s",
                          admitted.retry_after_ms, out);
    }

    // Breakers exist once a result was recorded for the tenant; until then none can be open.
    const auto& breaker_cfg = pol->circuit_breaker;
    breaker_board* board = breaker_cfg.enabled ? tenant.breakers_if_any() : nullptr;
    if (board && board->size() == 0) board = nullptr;
    auto excluded = [&](std::string_view provider) { return board->excludes(provider, breaker_cfg, now); };
    provider_predicate breaker_open;
    if (board) breaker_open = excluded;
    sticky_store* sticky = pol->sticky.enabled ? &tenant.sticky() : nullptr;
    selection_request sel{request.context(), request.constraints, tenant.rng()(), breaker_open, sticky, now};
    auto chosen = select_provider(*pol, sel);
    if (!chosen)
    {
        const auto& failure = chosen.error();
        out.error = reply_error::decision_failed;
        out.message = failure.message;
        out.reply.clear();
        error_reply e;
        e.code = reply_error::decision_failed;
        e.message = failure.message;
        e.details = failure.details;
        append_decide_error(out.reply, e, context_of(request));
        return;
    }

    decision& d = *chosen;
    if (board)
    {
        out.breaker_change = board->admit(d.provider_id, now);
        out.breaker_trial = board->state(d.provider_id, now) == breaker_state::half_open;
    }
    out.reason = d.reason;
    out.provider_id = d.provider_id;
    out.reply.clear();
    append_decide_success(out.reply, d, context_of(request));
    if (fingerprint) tenant.idempotency().remember(request.idempotency_key, *fingerprint, out.reply, now);

    if (request.push_assignment)
    {
        out.assignment = true;
        out.assignment_subject = std::string(assignment_subject_for(request, settings_.assignment_subject));
        out.assignment_body.clear();
        auto a = append_exec_assignment(out.assignment_body, request, d, random_ref(tenant.rng()));
        out.assignment_hdrs = std::move(a.headers);
    }
}

} // namespace beamline::router
