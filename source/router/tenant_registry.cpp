#include "beamline/router/tenant_registry.hpp"

#include <algorithm>

namespace beamline::router
{

namespace
{

/// Shards of at least this many tenants: a small cap stays one exact LRU, a large one spreads out.
constexpr std::size_t min_tenants_per_shard = 256;
constexpr std::size_t max_shards = 64;
/// How far from the least recently used end eviction looks for an idle tenant.
constexpr std::size_t max_eviction_scan = 64;

std::size_t shard_count_for(std::size_t max_tenants) noexcept
{
    std::size_t n = 1;
    while (n < max_shards && max_tenants / (n * 2) >= min_tenants_per_shard)
        n *= 2;
    return n;
}

} // namespace

tenant::tenant(asio::io_context::executor_type ex, std::string id, std::shared_ptr<const tenant_limits> limits,
               std::uint64_t seed, std::chrono::steady_clock::time_point now, std::unique_ptr<tenant_observer> observer)
    : strand_(asio::make_strand(ex)), state_(std::move(id), std::move(limits), seed, now), observer_(std::move(observer))
{
}

tenant_registry::tenant_registry(asio::io_context::executor_type ex, tenant_registry_limits limits,
                                 std::uint64_t seed, observer_factory make_observer)
    : executor_(ex), limits_(std::move(limits)), state_limits_(std::make_shared<const tenant_limits>(limits_.state)),
      make_observer_(std::move(make_observer)),
      shards_(shard_count_for(std::max<std::size_t>(limits_.max_tenants, 1))), seed_(seed)
{
    limits_.max_tenants = std::max<std::size_t>(limits_.max_tenants, 1);
    shard_capacity_ = limits_.max_tenants / shards_.size();
}

tenant_registry::shard& tenant_registry::shard_for(const hashed_id& tenant_id) noexcept
{
    // The shard's map buckets by the same hash; the shard takes the high bits of its mix, so the
    // two do not correlate.
    auto h = tenant_id.hash * 0x9e3779b97f4a7c15ULL;
    return shards_[(h >> 32) % shards_.size()];
}

std::uint64_t tenant_registry::next_seed() noexcept
{
    // splitmix64 over a counter: distinct, well-mixed streams per tenant from one injected seed.
    std::uint64_t z = seed_.fetch_add(0x9e3779b97f4a7c15ULL, std::memory_order_relaxed) + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

tenant_registry::acquired tenant_registry::acquire(std::string_view tenant_id, bool create, clock::time_point now,
                                                   bool decision)
{
    const hashed_id key(tenant_id);
    shard& s = shard_for(key);
    auto admit = [&](std::list<std::shared_ptr<tenant>>::iterator it) -> acquired {
        s.lru.splice(s.lru.begin(), s.lru, it);
        tenant& t = **it;
        if (t.observer_ && decision) t.observer_->on_request();
        if (t.inflight_.load(std::memory_order_acquire) >= limits_.inflight_max) return {admission::inflight_cap, {}};
        t.inflight_.fetch_add(1, std::memory_order_acq_rel);
        return {admission::admitted, tenant_lease(*it)};
    };
    {
        std::lock_guard lock(s.mutex);
        if (auto found = s.index.find(key); found != s.index.end()) return admit(found->second);
        if (!create) return {admission::unknown, {}};
    }

    // Built outside the shard's lock: the observer may register metric series, which locks and allocates.
    auto fresh = std::make_shared<tenant>(executor_, std::string(tenant_id), state_limits_, next_seed(), now,
                                          make_observer_ ? make_observer_(tenant_id) : nullptr);
    std::shared_ptr<tenant> evicted; // destroyed after the lock is released (declared before it)
    std::lock_guard lock(s.mutex);
    if (auto found = s.index.find(key); found != s.index.end()) return admit(found->second);
    if (s.index.size() >= shard_capacity_ && !(evicted = evict_one(s))) return {admission::registry_full, {}};
    hashed_id own_key = key;
    own_key.id = fresh->id(); // the same bytes, held by the tenant
    s.lru.push_front(std::move(fresh));
    s.index.emplace(own_key, s.lru.begin());
    size_.fetch_add(1, std::memory_order_relaxed);
    return admit(s.lru.begin());
}

std::shared_ptr<tenant> tenant_registry::evict_one(shard& s)
{
    // Least recently used first. Slots are only taken under this lock, so a tenant idle here stays
    // idle until we let go of it. Acquiring moves a tenant to the front, so busy tenants gather
    // there and the look from the back is short; it is bounded all the same, to stay O(1).
    std::size_t looked = 0;
    for (auto it = s.lru.end(); it != s.lru.begin() && looked < max_eviction_scan; ++looked)
    {
        --it;
        if ((*it)->inflight_.load(std::memory_order_acquire) != 0) continue;
        std::shared_ptr<tenant> victim = std::move(*it);
        s.index.erase(hashed_id(victim->id()));
        s.lru.erase(it);
        size_.fetch_sub(1, std::memory_order_relaxed);
        evictions_.fetch_add(1, std::memory_order_relaxed);
        return victim;
    }
    return nullptr;
}

} // namespace beamline::router
