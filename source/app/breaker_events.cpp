#include "beamline/app/breaker_events.hpp"

#include "beamline/app/logging.hpp"

#include <random>

namespace beamline::app
{

namespace
{

metrics::counter& events_counter(metrics::registry& reg, const char* what)
{
    return reg.counter("router_breaker_events_total",
                       "Breaker events shared among routers: published, publish_failed, applied (from another "
                       "router), own (our echo, skipped), invalid",
                       {{"event", what}});
}

/// 1, 2, 4, 8 …: a stream of bad events is logged, not flooded into the log.
bool worth_logging(std::uint64_t n) noexcept
{
    return (n & (n - 1)) == 0;
}

} // namespace

std::string new_router_id()
{
    std::random_device rd;
    std::uint64_t v = (std::uint64_t{rd()} << 32) ^ rd();
    static constexpr char digits[] = "0123456789abcdef";
    std::string id = "router-";
    for (int shift = 60; shift >= 0; shift -= 4)
        id += digits[(v >> shift) & 0xf];
    return id;
}

breaker_event_relay::breaker_event_relay(std::shared_ptr<nats::client> client, std::string subject,
                                         std::string router_id, metrics::registry& reg, apply_fn apply)
    : client_(std::move(client)), subject_(std::move(subject)), router_id_(std::move(router_id)),
      apply_(std::move(apply)), published_(events_counter(reg, "published")),
      publish_failed_(events_counter(reg, "publish_failed")), applied_(events_counter(reg, "applied")),
      own_(events_counter(reg, "own")), invalid_(events_counter(reg, "invalid"))
{
}

breaker_event_relay::~breaker_event_relay()
{
    unsubscribe();
}

void breaker_event_relay::publish(const router::exec_result& r, router::breaker_outcome outcome)
{
    if (outcome == router::breaker_outcome::ignored) return;
    router::breaker_event e;
    e.router_id = router_id_;
    e.tenant_id = r.tenant_id;
    e.provider_id = r.provider_id;
    e.outcome = outcome;
    e.job_id = std::string(r.job_id());
    std::string body;
    router::append_breaker_event(body, e);
    if (auto ec = client_->publish(subject_, body))
    {
        publish_failed_.inc();
        if (worth_logging(publish_failed_.value()))
            log::warn("breaker event not published", {{"subject", subject_}, {"error", ec.message()}});
        return;
    }
    published_.inc();
}

std::error_code breaker_event_relay::subscribe()
{
    if (sub_) return {};
    // No queue group: every router applies every event (SPEC §14).
    return client_->subscribe_inline(subject_, {}, [this](const nats::message_view& v) { on_event(v.payload); },
                                     sub_);
}

void breaker_event_relay::unsubscribe()
{
    if (sub_) client_->unsubscribe(sub_);
    sub_.reset();
}

void breaker_event_relay::on_event(std::string_view body)
{
    auto parsed = router::parse_breaker_event(body);
    if (!parsed.event)
    {
        invalid_.inc();
        if (worth_logging(invalid_.value()))
            log::warn("breaker event refused", {{"subject", subject_}, {"reason", parsed.error}});
        return;
    }
    const auto& e = *parsed.event;
    if (e.router_id == router_id_)
    {
        own_.inc();
        return;
    }
    applied_.inc();
    apply_(e.tenant_id, e.provider_id, e.outcome);
}

} // namespace beamline::app
