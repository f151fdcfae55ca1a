#include "beamline/router/tenant_state.hpp"

#include "beamline/router/breaker_status.hpp"

namespace beamline::router
{

tenant_state::tenant_state(std::string tenant_id, std::shared_ptr<const tenant_limits> limits, std::uint64_t seed,
                           token_bucket::clock::time_point now)
    : id_(std::move(tenant_id)), limits_(std::move(limits)), rng_(seed)
{
    if (limits_->tenant_rps > 0)
        tenant_bucket_ = std::make_unique<token_bucket>(
            limits_->tenant_rps, limits_->tenant_burst > 0 ? limits_->tenant_burst : limits_->tenant_rps, now);
}

tenant_state::tenant_state(std::string tenant_id, const tenant_limits& limits, std::uint64_t seed,
                           token_bucket::clock::time_point now)
    : tenant_state(std::move(tenant_id), std::make_shared<const tenant_limits>(limits), seed, now)
{
}

tenant_state::~tenant_state()
{
    if (!breakers_ || !limits_->breaker_rows) return;
    try
    {
        limits_->breaker_rows->forget(id_, this);
    }
    catch (...)
    {
        // Out of memory: the rows stay listed until the tenant comes back or the router restarts.
    }
}

sticky_store& tenant_state::sticky()
{
    if (!sticky_)
    {
        sticky_ = std::make_unique<sticky_store>(limits_->sticky_sessions);
        if (limits_->sticky_share) sticky_->share(limits_->sticky_share, id_);
    }
    return *sticky_;
}

idempotency_store& tenant_state::idempotency()
{
    if (!idempotency_)
        idempotency_ = std::make_unique<idempotency_store>(idempotency_store::limits{
            limits_->idempotency_ttl, limits_->idempotency_entries, limits_->idempotency_entries_total});
    return *idempotency_;
}

breaker_board& tenant_state::breakers()
{
    if (!breakers_) breakers_ = std::make_unique<breaker_board>();
    return *breakers_;
}

token_bucket& tenant_state::policy_bucket(const std::string& policy_id, double rps, double burst,
                                          token_bucket::clock::time_point now)
{
    if (!policy_buckets_) policy_buckets_ = std::make_unique<policy_buckets>();
    auto it = policy_buckets_->find(policy_id);
    if (it == policy_buckets_->end()) return policy_buckets_->emplace(policy_id, token_bucket(rps, burst, now)).first->second;
    if (it->second.rate() != rps || it->second.burst() != burst) it->second.reconfigure(rps, burst, now);
    return it->second;
}

} // namespace beamline::router
