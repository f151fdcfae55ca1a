#pragma once
// Everything the router remembers about one tenant: sticky sessions, idempotent replies, rate-limit
// buckets, circuit breakers, the random stream of weighted choice. It lives on the tenant's strand: one owner, no
// locks, and one tenant's flood cannot touch another's state.

#include "beamline/router/circuit_breaker.hpp"
#include "beamline/router/idempotency_store.hpp"
#include "beamline/router/rate_limiter.hpp"
#include "beamline/router/selection.hpp"
#include "beamline/router/sticky_store.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace beamline::router
{

class breaker_status_table;
class shared_sticky;
struct policy;

/// The policy a tenant's last decision used, and the policy store's generation it was read under.
/// Only a policy found is kept: its `id` is the policy id it was looked up by.
struct policy_memo
{
    std::uint64_t generation = 0;
    std::shared_ptr<const router::policy> in_service;
};

struct tenant_limits
{
    std::chrono::seconds idempotency_ttl{3600};
    std::size_t idempotency_entries = 10000;
    /// Shared by every tenant's idempotency store: the entries they hold together.
    std::shared_ptr<std::atomic<std::int64_t>> idempotency_entries_total;
    std::size_t sticky_sessions = sticky_store::default_capacity;
    double tenant_rps = 0; ///< 0: no tenant-wide bucket
    double tenant_burst = 0;
    /// router.state=jetstream: the deployment's sticky bindings, which the tenant's store caches.
    shared_sticky* sticky_share = nullptr;
    /// Where the tenant's breakers are listed (the pipeline's table), keyed by their state; a
    /// state dropped takes its rows with it. Outlives every state.
    breaker_status_table* breaker_rows = nullptr;
};

/// A tenant's state is what the router holds per tenant, times tens of thousands: what most
/// tenants never use (a sticky or idempotency store, breakers, policy buckets) is created on first
/// use, and the limits every tenant shares are shared, not copied.
class tenant_state
{
public:
    /// `now` fills the tenant-wide bucket (injected, so bucket tests control the clock).
    tenant_state(std::string tenant_id, std::shared_ptr<const tenant_limits> limits, std::uint64_t seed,
                 token_bucket::clock::time_point now = token_bucket::clock::now());
    /// The same with limits of its own (a copy).
    tenant_state(std::string tenant_id, const tenant_limits& limits, std::uint64_t seed,
                 token_bucket::clock::time_point now = token_bucket::clock::now());
    /// Removes its breakers' rows from `limits.breaker_rows`, which list them under this state.
    ~tenant_state();
    tenant_state(const tenant_state&) = delete;
    tenant_state& operator=(const tenant_state&) = delete;

    const std::string& id() const noexcept { return id_; }
    policy_memo& last_policy() noexcept { return last_policy_; }
    /// Created on first use: most tenants never bind a session or send an idempotency key.
    sticky_store& sticky();
    idempotency_store& idempotency();
    selection_rng& rng() noexcept { return rng_; }
    /// Created on first use (a result recorded, a reset); `breakers_if_any` never creates it.
    breaker_board& breakers();
    breaker_board* breakers_if_any() noexcept { return breakers_.get(); }

    /// The tenant-wide bucket, when configured; null otherwise.
    token_bucket* tenant_bucket() noexcept { return tenant_bucket_.get(); }
    /// The bucket of one policy, created (full) on first use and reconfigured when the policy's
    /// limits change after a reload.
    token_bucket& policy_bucket(const std::string& policy_id, double rps, double burst,
                                token_bucket::clock::time_point now);

private:
    using policy_buckets = std::map<std::string, token_bucket, std::less<>>;

    std::string id_;
    std::shared_ptr<const tenant_limits> limits_;
    policy_memo last_policy_;
    std::unique_ptr<sticky_store> sticky_;
    std::unique_ptr<idempotency_store> idempotency_;
    selection_rng rng_;
    std::unique_ptr<breaker_board> breakers_;
    std::unique_ptr<token_bucket> tenant_bucket_;
    std::unique_ptr<policy_buckets> policy_buckets_;
};

} // namespace beamline::router
