#include "beamline/router/decide_pipeline.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

namespace beamline::router
{

namespace
{

/// A decide request in flight: its bytes copied off the transport's buffer once.
struct decide_job
{
    std::string body;
    std::string subject;
    std::string address;
    std::optional<std::string> version;
    std::optional<std::string> traceparent;
    std::shared_ptr<reply_sink> sink;
    std::chrono::steady_clock::time_point received;
    std::optional<decide_request> request;
    decide_outcome outcome;
    tenant_lease lease; ///< the tenant's in-flight slot, once admitted

    request_meta meta() const noexcept
    {
        return {subject, version ? std::optional<std::string_view>(*version) : std::nullopt,
                traceparent ? std::optional<std::string_view>(*traceparent) : std::nullopt};
    }
};

/// Jobs are over a kilobyte, and glibc serves a chunk that size outside its per-thread caches,
/// first consolidating every fast bin: allocating one per request was 2% of the router's CPU in
/// malloc_consolidate alone, and left the smaller allocations after it slower. So a finished job
/// goes back, emptied, to a small cache of the thread that finished it, and keeps its strings'
/// buffers (reply, address, ids) for the next request; jobs that grew large are freed instead.
class job_cache
{
public:
    std::unique_ptr<decide_job> take()
    {
        if (free_.empty()) return std::make_unique<decide_job>();
        auto job = std::move(free_.back());
        free_.pop_back();
        return job;
    }

    void give(std::unique_ptr<decide_job> job) noexcept
    {
        if (free_.size() >= keep || !empty_for_reuse(*job)) return;
        try
        {
            free_.push_back(std::move(job));
        }
        catch (...)
        {
            // No room to keep it: it is freed, as it would be without a cache.
        }
    }

private:
    static constexpr std::size_t keep = 64;
    static constexpr std::size_t largest_kept_buffer = 4096;

    static bool small(const std::string& s) noexcept { return s.capacity() <= largest_kept_buffer; }

    /// Empties the job as a new one would be, buffers kept; false when one is too large to keep.
    static bool empty_for_reuse(decide_job& j) noexcept;

    std::vector<std::unique_ptr<decide_job>> free_;
};

thread_local job_cache jobs;

/// The outcome's strings whose buffers a reused job keeps.
constexpr std::string decide_outcome::*kept_outcome_buffers[] = {
    &decide_outcome::reply,     &decide_outcome::provider_id, &decide_outcome::assignment_subject,
    &decide_outcome::assignment_body, &decide_outcome::tenant_id, &decide_outcome::request_id,
    &decide_outcome::trace_id,  &decide_outcome::message};

bool job_cache::empty_for_reuse(decide_job& j) noexcept
{
    auto& o = j.outcome;
    for (const std::string* s : {&j.body, &j.subject, &j.address})
        if (!small(*s)) return false;
    for (auto member : kept_outcome_buffers)
        if (!small(o.*member)) return false;
    j.body.clear();
    j.subject.clear();
    j.address.clear();
    j.version.reset();
    j.traceparent.reset();
    j.sink.reset();
    j.request.reset();
    j.lease.release();
    decide_outcome fresh;
    for (auto member : kept_outcome_buffers)
    {
        (o.*member).clear();
        (fresh.*member).swap(o.*member);
    }
    o = std::move(fresh);
    return true;
}

struct job_deleter
{
    void operator()(decide_job* j) const noexcept { jobs.give(std::unique_ptr<decide_job>(j)); }
};
using job_ptr = std::unique_ptr<decide_job, job_deleter>;

job_ptr new_job() { return job_ptr(jobs.take().release()); }

std::string describe(std::exception_ptr e)
{
    try
    {
        std::rethrow_exception(std::move(e));
    }
    catch (const std::exception& ex)
    {
        return ex.what();
    }
    catch (...)
    {
        return "unknown exception";
    }
}

/// The registry's limits with the pipeline's status table, where tenants' breakers are listed.
tenant_registry_limits listing_breakers_in(tenant_registry_limits limits, breaker_status_table& table)
{
    limits.state.breaker_rows = &table;
    return limits;
}

} // namespace

struct decide_pipeline::impl : std::enable_shared_from_this<decide_pipeline::impl>
{
    impl(asio::io_context::executor_type ex, const policy_store& policies_, decide_pipeline_settings s,
         decide_pipeline_parts p)
        : executor(ex), policies(policies_), settings(s), parts(std::move(p)),
          engine(policies_, std::move(s.decide)),
          registry(ex, listing_breakers_in(s.tenants, breaker_rows), parts.seed,
                   [obs = parts.observer](std::string_view id) -> std::unique_ptr<tenant_observer> {
                       return obs ? obs->tenant_created(id) : nullptr;
                   })
    {
    }

    asio::io_context::executor_type executor;
    const policy_store& policies;
    decide_pipeline_settings settings;
    decide_pipeline_parts parts;
    decide_engine engine;
    breaker_status_table breaker_rows; ///< before `registry`: outlives every tenant state listed in it
    tenant_registry registry;
    std::atomic<std::size_t> inflight{0};

    void submit(std::string_view body, const request_meta& meta, std::shared_ptr<reply_sink> sink,
                std::string_view address)
    {
        auto job = new_job();
        job->received = parts.now();
        job->sink = std::move(sink);
        job->address.assign(address);
        inflight.fetch_add(1, std::memory_order_relaxed);
        try
        {
            if (parts.gate)
                if (auto refused = parts.gate->check())
                {
                    decide_engine::refuse(nullptr, reply_error::overloaded, std::move(refused->message),
                                          refused->retry_after_ms, job->outcome);
                    return finish(std::move(job));
                }
            if (settings.intake_on_submit) return intake(std::move(job), body, meta);
            job->body.assign(body);
            job->subject.assign(meta.subject);
            if (meta.version) job->version.emplace(*meta.version);
            if (meta.traceparent) job->traceparent.emplace(*meta.traceparent);
        }
        catch (...)
        {
            return internal_error(std::move(job), std::current_exception());
        }
        asio::post(executor, [self = shared_from_this(), j = std::move(job)]() mutable {
            decide_job* raw = j.get();
            self->intake(std::move(j), raw->body, raw->meta());
        });
    }

    /// Stateless validation, then the tenant's in-flight slot. `body` and `meta` are the
    /// transport's (on the submitting thread) or the job's copies (on a worker).
    void intake(job_ptr job, std::string_view body, const request_meta& meta) noexcept
    {
        try
        {
            if (!engine.intake(body, meta, job->outcome, job->request)) return finish(std::move(job));
            const decide_request& r = *job->request;
            // The submit's time starts a new tenant's buckets: intake ran a microsecond ago.
            const auto now = job->received;
            auto got = registry.acquire(r.tenant_id, false, now);
            if (got.verdict == tenant_registry::admission::unknown)
            {
                // State only for a tenant that can be decided for: an unknown tenant costs nothing.
                if (!policies.get(r.tenant_id, r.policy_id))
                {
                    decide_engine::refuse(&r, reply_error::policy_not_found,
                                          "no policy \"" + r.policy_id + "\" for tenant " + r.tenant_id, 0,
                                          job->outcome);
                    return finish(std::move(job));
                }
                got = registry.acquire(r.tenant_id, true, now);
            }
            switch (got.verdict)
            {
            case tenant_registry::admission::admitted:
                break;
            case tenant_registry::admission::inflight_cap:
                decide_engine::refuse(&r, reply_error::rate_limited,
                                      "tenant " + r.tenant_id + " has " +
                                          std::to_string(registry.limits().inflight_max) +
                                          " decisions in flight already",
                                      settings.inflight_cap_retry_after_ms, job->outcome);
                return finish(std::move(job));
            case tenant_registry::admission::registry_full:
            case tenant_registry::admission::unknown:
                decide_engine::refuse(&r, reply_error::overloaded,
                                      "no room for tenant " + r.tenant_id + ": the router keeps " +
                                          std::to_string(registry.limits().max_tenants) +
                                          " tenants and the ones it could evict are all busy",
                                      settings.unavailable_retry_after_ms, job->outcome);
                return finish(std::move(job));
            }
            job->lease = std::move(got.lease);
        }
        catch (...)
        {
            return internal_error(std::move(job), std::current_exception());
        }
        if (parts.pacer) return pace(std::move(job));
        if (settings.one_thread) return decide(std::move(job)); // this thread is the tenant's only one
        // Dispatch, not post: when the tenant's strand is idle and this thread runs the io_context
        // (the NATS reader does), the decision runs here at once instead of after a hand-off. A
        // busy strand queues it as before, so a flooding tenant still waits only for itself.
        auto& strand = job->lease->strand();
        asio::dispatch(strand, [self = shared_from_this(), j = std::move(job)]() mutable { self->decide(std::move(j)); });
    }

    /// The pacer decides when the decision starts; until then it is in flight and holds no thread.
    void pace(job_ptr job) noexcept
    {
        std::shared_ptr<job_ptr> held;
        try
        {
            held = std::make_shared<job_ptr>();
        }
        catch (...)
        {
            return internal_error(std::move(job), std::current_exception());
        }
        *held = std::move(job);
        try
        {
            parts.pacer->hold([self = shared_from_this(), held] {
                auto& strand = (*held)->lease->strand();
                asio::dispatch(strand, [self, held] { self->decide(std::move(*held)); });
            });
        }
        catch (...)
        {
            // Not taken: the job is still here, and gets its one reply.
            if (*held) internal_error(std::move(*held), std::current_exception());
        }
    }

    /// The tenant's strand: the stateful part, the assignment, the reply.
    void decide(job_ptr job)
    {
        try
        {
            decide_request& r = *job->request;
            tenant& t = *job->lease;
            auto now = parts.now();
            engine.decide(r, t.state(), now, job->outcome);
            if (job->outcome.breaker_trial || job->outcome.breaker_change)
                breaker_changed(t, job->outcome.provider_id, job->outcome.breaker_change, now);
            if (parts.idempotency && !r.idempotency_key.empty() && !job->outcome.error &&
                !job->outcome.idempotent_replay)
                return claim_shared(std::move(job));
            if (job->outcome.assignment && !job->outcome.error) publish_assignment(*job, t);
        }
        catch (...)
        {
            return internal_error(std::move(job), std::current_exception());
        }
        finish(std::move(job));
    }

    /// router.state=jetstream: the decision is claimed in the shared store before anything is sent;
    /// the strand is free meanwhile and the claim's answer comes back on it.
    void claim_shared(job_ptr job)
    {
        const decide_request& r = *job->request;
        auto fingerprint = fingerprint_of(r);
        std::string tenant = r.tenant_id, key = r.idempotency_key, reply = job->outcome.reply;
        auto held = std::make_shared<job_ptr>(std::move(job));
        try
        {
            parts.idempotency->claim(std::move(tenant), std::move(key), fingerprint, std::move(reply),
                                     [self = shared_from_this(), held](idempotency_claim c) {
                                         auto& strand = (*held)->lease->strand();
                                         asio::post(strand, [self, held, c = std::move(c)]() mutable {
                                             self->claimed(std::move(*held), c);
                                         });
                                     });
        }
        catch (...)
        {
            // The claim never started (out of memory): the job is still here, and gets its one reply.
            if (*held) internal_error(std::move(*held), std::current_exception());
        }
    }

    void claimed(job_ptr job, const idempotency_claim& claim)
    {
        try
        {
            tenant& t = *job->lease;
            engine.settle_claim(*job->request, t.state(), claim, parts.now(), settings.unavailable_retry_after_ms,
                                job->outcome);
            if (job->outcome.assignment && !job->outcome.error) publish_assignment(*job, t);
        }
        catch (...)
        {
            return internal_error(std::move(job), std::current_exception());
        }
        finish(std::move(job));
    }

    /// Publishes the ExecAssignment; when the publisher refuses it, the decision is withdrawn and
    /// the caller is told why (SPEC §4.5 is silent; docs/decide_contract.md records the choice).
    void publish_assignment(decide_job& job, tenant& t)
    {
        auto& out = job.outcome;
        publish_result result =
            parts.assignments ? parts.assignments->publish_assignment(out.assignment_subject, out.assignment_body,
                                                                      out.assignment_hdrs)
                              : publish_result{publish_refusal::unavailable, "no ExecAssignment publisher"};
        if (result.ok())
        {
            if (parts.observer) parts.observer->assignment_published(out);
            return;
        }
        if (parts.observer) parts.observer->assignment_refused(out, result);
        const bool retry_may_help = result.refusal == publish_refusal::unavailable;
        engine.withdraw(*job.request, t.state(), retry_may_help ? reply_error::overloaded : reply_error::invalid_request,
                        retry_may_help ? std::nullopt : std::optional(intake_code::schema_validation_failed),
                        "the decision's ExecAssignment was not published, so nothing was dispatched: " +
                            result.message,
                        retry_may_help ? settings.unavailable_retry_after_ms : 0, out);
    }

    /// The breaker block results are recorded with: the first of the tenant's policies (in
    /// policy-id order) that enables one.
    std::optional<circuit_breaker_config> breaker_config_for(std::string_view tenant_id) const
    {
        for (const auto& listed : policies.list(tenant_id))
            if (auto p = policies.get(tenant_id, listed.policy_id); p && p->circuit_breaker.enabled)
                return p->circuit_breaker;
        return std::nullopt;
    }

    /// On the tenant's strand, after its breaker of `provider` was looked at or changed: the status
    /// table gets the new snapshot, the observer the transition.
    void breaker_changed(tenant& t, std::string_view provider, const std::optional<breaker_transition>& change,
                         clock::time_point now)
    {
        if (auto s = t.state().breakers().inspect(provider, now)) breaker_rows.update(t.id(), provider, &t.state(), *s, now);
        if (change && parts.observer) parts.observer->breaker_transition(t.id(), provider, *change);
    }

    void record_result(std::string_view tenant_id, std::string_view provider, breaker_outcome outcome)
    {
        // An empty tenant would read as "every tenant" to the policy store.
        if (outcome == breaker_outcome::ignored || tenant_id.empty() || provider.empty()) return;
        auto now = parts.now();
        auto got = registry.acquire(tenant_id, false, now, false);
        if (got.verdict == tenant_registry::admission::unknown)
        {
            if (!breaker_config_for(tenant_id)) return; // no breakers for this tenant: no state either
            got = registry.acquire(tenant_id, true, now, false);
        }
        // At its in-flight cap, or no room: the result is not counted (the tenant is busy deciding).
        if (got.verdict != tenant_registry::admission::admitted) return;
        auto& strand = got.lease->strand();
        asio::post(strand, [self = shared_from_this(), lease = std::move(got.lease), p = std::string(provider),
                            outcome]() mutable {
            try
            {
                // The policy as it is now: a reload between the result and this is honoured.
                auto cfg = self->breaker_config_for(lease->id());
                if (!cfg) return;
                auto at = self->parts.now();
                auto change = lease->state().breakers().record(p, outcome, *cfg, at);
                self->breaker_changed(*lease, p, change, at);
            }
            catch (...)
            {
                // Out of memory recording one result: the breaker misses it, nothing else is at stake.
            }
        });
    }

    std::size_t reset_breakers(std::string_view tenant_id, std::string_view provider)
    {
        auto now = parts.now();
        std::size_t count = 0;
        std::vector<std::string> tenants;
        for (const auto& row : breaker_rows.list(tenant_id, now))
        {
            if (!provider.empty() && row.provider != provider) continue;
            ++count;
            if (tenants.empty() || tenants.back() != row.tenant) tenants.push_back(row.tenant);
        }
        for (const auto& id : tenants)
        {
            auto got = registry.acquire(id, false, now, false);
            if (got.verdict != tenant_registry::admission::admitted) continue;
            auto& strand = got.lease->strand();
            asio::post(strand, [self = shared_from_this(), lease = std::move(got.lease), p = std::string(provider)]() mutable {
                try
                {
                    auto at = self->parts.now();
                    auto& board = lease->state().breakers();
                    for (const auto& before : board.list(at))
                    {
                        if (!p.empty() && before.provider != p) continue;
                        board.reset(before.provider, at);
                        std::optional<breaker_transition> change;
                        if (before.state.state != breaker_state::closed)
                            change = breaker_transition{before.state.state, breaker_state::closed, "reset"};
                        self->breaker_changed(*lease, before.provider, change, at);
                    }
                }
                catch (...)
                {
                    // Out of memory listing the board: the operator's next reset tries again.
                }
            });
        }
        return count;
    }

    void internal_error(job_ptr job, std::exception_ptr e) noexcept
    {
        try
        {
            auto what = describe(std::move(e));
            if (parts.observer) parts.observer->internal_error(job->outcome, what);
            decide_engine::refuse(job->request ? &*job->request : nullptr, reply_error::internal,
                                  "internal error; the router logged it with the request id", 0, job->outcome);
        }
        catch (...)
        {
            // Out of memory while wording the refusal: send the shortest true reply there is.
            job->outcome.error = reply_error::internal;
            job->outcome.reply = R"({"ok":false,"error":{"code":"internal","message":"internal"},"context":{}})";
        }
        finish(std::move(job));
    }

    /// The one reply, then the accounting. The tenant's slot is given back with the job.
    void finish(job_ptr job) noexcept
    {
        publish_result sent = job->sink ? job->sink->send_reply(job->address, job->outcome)
                                        : publish_result{publish_refusal::unavailable, "no reply sink"};
        if (parts.observer)
        {
            const auto finished = parts.now();
            parts.observer->decided(job->outcome, sent, finished - job->received, finished);
        }
        job.reset();
        inflight.fetch_sub(1, std::memory_order_acq_rel);
    }
};

decide_pipeline::decide_pipeline(asio::io_context::executor_type ex, const policy_store& policies,
                                 decide_pipeline_settings settings, decide_pipeline_parts parts)
    : impl_(std::make_shared<impl>(ex, policies, std::move(settings), std::move(parts)))
{
}

decide_pipeline::~decide_pipeline() = default;

void decide_pipeline::submit(std::string_view body, const request_meta& meta, std::shared_ptr<reply_sink> sink,
                             std::string_view address)
{
    impl_->submit(body, meta, std::move(sink), address);
}

void decide_pipeline::record_result(std::string_view tenant_id, std::string_view provider_id, breaker_outcome outcome)
{
    impl_->record_result(tenant_id, provider_id, outcome);
}

std::size_t decide_pipeline::reset_breakers(std::string_view tenant_id, std::string_view provider_id)
{
    return impl_->reset_breakers(tenant_id, provider_id);
}

const breaker_status_table& decide_pipeline::breakers() const noexcept { return impl_->breaker_rows; }

std::size_t decide_pipeline::inflight() const noexcept { return impl_->inflight.load(std::memory_order_acquire); }
const tenant_registry& decide_pipeline::tenants() const noexcept { return impl_->registry; }
const decide_engine& decide_pipeline::engine() const noexcept { return impl_->engine; }

} // namespace beamline::router
