#include "beamline/app/decide_telemetry.hpp"

#include "beamline/app/logging.hpp"

namespace beamline::app
{

namespace
{

constexpr const char* requests_name = "router_decide_requests_total";
constexpr const char* requests_help = "Decide requests by outcome and error code";

class tenant_requests final : public router::tenant_observer
{
public:
    explicit tenant_requests(metrics::counter& c) : counter_(c) {}
    void on_request() noexcept override { counter_.inc(); }

private:
    metrics::counter& counter_;
};

} // namespace

decide_telemetry::decide_telemetry(metrics::registry& reg, std::size_t tenant_label_cap)
    : reg_(reg), tenant_labels_(tenant_label_cap),
      tenant_requests_(reg, tenant_labels_, "router_tenant_decide_requests_total",
                       "Decide requests per tenant (capped)", "tenant"),
      breaker_state_(reg, tenant_labels_, "router_breaker_state",
                     "Circuit breaker per tenant (capped) and provider: 0 closed, 1 open, 2 half_open, as of "
                     "its last transition",
                     "tenant"),
      ok_(reg.counter(requests_name, requests_help, {{"outcome", "ok"}, {"code", "none"}})),
      replay_(reg.counter(requests_name, requests_help, {{"outcome", "replay"}, {"code", "none"}})),
      latency_(reg.histogram("router_decide_latency_seconds",
                             "Time from receiving a decide request to publishing its reply",
                             metrics::latency_buckets())),
      reply_failures_(reg.counter("router_reply_publish_failures_total", "Replies the NATS client refused to send")),
      assignments_(reg.counter("router_assignments_published_total", "ExecAssignments published")),
      rate_limited_(reg.counter("router_rate_limit_rejections_total", "Decisions refused by a rate limit")),
      idem_hits_(reg.counter("router_idempotency_hits_total", "Idempotent replays of a stored reply")),
      idem_conflicts_(reg.counter("router_idempotency_conflicts_total",
                                  "Idempotency keys reused with a different request")),
      idem_misses_(reg.counter("router_idempotency_misses_total",
                               "Requests with an idempotency key the store did not hold (decided afresh)"))
{
    register_correlation_sources();
    using router::reply_error;
    for (auto e : {reply_error::invalid_request, reply_error::unauthorized, reply_error::policy_not_found,
                   reply_error::rate_limited, reply_error::overloaded, reply_error::decision_failed,
                   reply_error::internal})
        errors_[static_cast<std::size_t>(e)] = &reg.counter(
            requests_name, requests_help, {{"outcome", "error"}, {"code", std::string(router::to_string(e))}});
    using router::decision_reason;
    // No breaker feeds selection yet, so circuit_breaker_fallback is not exported: a series that
    // cannot move would read as "breakers never open". It comes with the breakers.
    for (auto r : {decision_reason::sticky, decision_reason::weighted, decision_reason::fallback})
        reasons_[static_cast<std::size_t>(r)] = &reg.counter("router_decisions_total", "Successful decisions by reason",
                                                             {{"reason", std::string(router::to_string(r))}});
    using router::publish_refusal;
    for (auto r : {publish_refusal::too_large, publish_refusal::invalid, publish_refusal::unavailable})
        assignment_failures_[static_cast<std::size_t>(r)] =
            &reg.counter("router_assignment_publish_failures_total",
                         "ExecAssignments the NATS client refused, by reason; the caller was told",
                         {{"reason", std::string(router::to_string(r))}});
    using router::breaker_state;
    for (auto from : {breaker_state::closed, breaker_state::open, breaker_state::half_open})
        for (auto to : {breaker_state::closed, breaker_state::open, breaker_state::half_open})
            if (from != to)
                breaker_transitions_[static_cast<std::size_t>(from)][static_cast<std::size_t>(to)] =
                    &reg.counter("router_breaker_transitions_total", "Circuit breaker state changes",
                                 {{"from", std::string(router::to_string(from))},
                                  {"to", std::string(router::to_string(to))}});
}

void decide_telemetry::register_correlation_sources()
{
    using router::field_source;
    // Only the pairs intake can produce: a decide request's tenant_id is always its payload's
    // (without one it is refused), and only the version can come from the subject.
    const std::pair<const char*, std::vector<field_source>> fields[] = {
        {"trace_id", {field_source::header, field_source::payload, field_source::absent}},
        {"tenant_id", {field_source::payload}},
        {"version", {field_source::header, field_source::payload, field_source::subject}},
    };
    for (const auto& [field, reachable] : fields)
        for (auto source : reachable)
        {
            auto matches = [field = std::string_view(field), source](const router::correlation_sources& s) {
                if (field == "trace_id") return s.trace_id == source;
                if (field == "tenant_id") return s.tenant_id == source;
                return s.version == source;
            };
            std::vector<std::size_t> cells;
            for (std::size_t t = 0; t < sources; ++t)
                for (std::size_t n = 0; n < sources; ++n)
                    for (std::size_t v = 0; v < sources; ++v)
                    {
                        router::correlation_sources s{static_cast<field_source>(t), static_cast<field_source>(n),
                                                      static_cast<field_source>(v)};
                        if (matches(s)) cells.push_back(cell_of(s));
                    }
            source_series_.push_back(reg_.callback(
                metrics::metric_type::counter, "router_correlation_source_total",
                "Accepted decide requests by where each correlation field came from",
                {{"field", field}, {"source", std::string(router::to_string(source))}},
                [c = source_cells_.get(), cells = std::move(cells)] {
                    std::uint64_t n = 0;
                    for (auto i : cells) n += (*c)[i].load(std::memory_order_relaxed);
                    return static_cast<double>(n);
                }));
        }
}

std::unique_ptr<router::tenant_observer> decide_telemetry::tenant_created(std::string_view tenant_id)
{
    return std::make_unique<tenant_requests>(tenant_requests_.get(tenant_id));
}

void decide_telemetry::decided(const router::decide_outcome& out, const router::publish_result& reply,
                               std::chrono::steady_clock::duration latency,
                               std::chrono::steady_clock::time_point /*finished*/) noexcept
{
    if (!reply.ok())
    {
        reply_failures_.inc();
        log::debug("decide reply not sent", {{"error", reply.message}, {"request_id", out.request_id}});
    }
    if (out.sources) (*source_cells_)[cell_of(*out.sources)].fetch_add(1, std::memory_order_relaxed);
    if (out.idempotency_miss) idem_misses_.inc();
    if (out.idempotent_replay)
    {
        replay_.inc();
        idem_hits_.inc();
    }
    else if (out.error)
    {
        errors_[static_cast<std::size_t>(*out.error)]->inc();
        if (*out.error == router::reply_error::rate_limited) rate_limited_.inc();
        if (out.intake == router::intake_code::idempotency_violation) idem_conflicts_.inc();
        log::debug("decide refused", {{"code", router::to_string(*out.error)},
                                      {"reason", out.message},
                                      {"request_id", out.request_id},
                                      {"tenant_id", out.tenant_id}});
    }
    else
    {
        ok_.inc();
        if (out.reason)
            if (auto* counter = reasons_[static_cast<std::size_t>(*out.reason)]) counter->inc();
    }
    latency_.observe(std::chrono::duration<double>(latency).count());
}

void decide_telemetry::assignment_published(const router::decide_outcome&) noexcept { assignments_.inc(); }

void decide_telemetry::assignment_refused(const router::decide_outcome& out, const router::publish_result& why) noexcept
{
    if (auto* c = assignment_failures_[static_cast<std::size_t>(why.refusal)]) c->inc();
    log::warn("ExecAssignment not published; the caller is told", {{"reason", router::to_string(why.refusal)},
                                                                   {"error", why.message},
                                                                   {"subject", out.assignment_subject},
                                                                   {"request_id", out.request_id},
                                                                   {"tenant_id", out.tenant_id}});
}

void decide_telemetry::internal_error(const router::decide_outcome& out, std::string_view what) noexcept
{
    log::error("decide failed unexpectedly",
               {{"request_id", out.request_id}, {"tenant_id", out.tenant_id}, {"error", what}});
}

void decide_telemetry::breaker_transition(std::string_view tenant_id, std::string_view provider_id,
                                          const router::breaker_transition& t) noexcept
{
    if (auto* c = breaker_transitions_[static_cast<std::size_t>(t.from)][static_cast<std::size_t>(t.to)]) c->inc();
    try
    {
        // Transitions are rare (a breaker moves at most a few times per timeout), so registering
        // the series here, not on the decision path, costs nothing that matters.
        breaker_state_.get(tenant_id, {{"provider", std::string(provider_id)}}).set(static_cast<double>(t.to));
    }
    catch (...)
    {
        // Out of memory naming the series: the gauge misses this change, the log still has it.
    }
    log::info("circuit breaker changed state", {{"tenant_id", tenant_id},
                                                {"provider_id", provider_id},
                                                {"from", router::to_string(t.from)},
                                                {"to", router::to_string(t.to)},
                                                {"reason", t.reason}});
}

} // namespace beamline::app
