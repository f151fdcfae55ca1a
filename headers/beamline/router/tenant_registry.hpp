#pragma once
// The tenants the router keeps state for: per tenant a strand, its `tenant_state` (sticky sessions,
// idempotent replies, buckets), which only that strand touches, and its count of decisions in flight.
//
// Bounded, and cheap to grow. The pipeline creates a tenant only for a request whose policy exists
// (an unknown tenant is answered without state), at most `max_tenants` are kept, and past the cap the
// least recently used idle tenant is evicted (counted in `evictions()`). A busy tenant — one with a
// decision in flight — is never evicted: its strand may be using its state, and a second state for
// the same tenant would split its idempotency store. When every tenant of a shard is busy, a new
// tenant is refused (`admission::registry_full`) rather than let the registry grow.
//
// The map is sharded: creating a tenant is O(1) (no copy of anything), and a lookup holds one
// shard's mutex for a hash probe and an LRU splice, never while deciding; eviction looks at a bounded number of tenants. The in-flight count is
// incremented under that mutex and decremented without it, which is what makes "idle under the
// lock" stay idle until the lock is released.

#include "beamline/router/tenant_state.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace beamline::router
{

namespace asio = boost::asio;

/// What the wiring keeps per tenant (e.g. its metric series), created with the tenant's state and
/// dropped with it. Called from any thread; must not block.
class tenant_observer
{
public:
    virtual ~tenant_observer() = default;
    /// A request of this tenant passed intake and is about to be decided (or refused by its cap).
    /// Called under the registry's shard lock: count, nothing more.
    virtual void on_request() noexcept = 0;
};

struct tenant_registry_limits
{
    std::size_t max_tenants = 100'000;
    std::uint32_t inflight_max = 1000; ///< per tenant; beyond it requests are refused at once
    tenant_limits state;
};

/// One tenant: its strand and the state only that strand touches.
class tenant
{
public:
    using strand_type = asio::strand<asio::io_context::executor_type>;

    tenant(asio::io_context::executor_type ex, std::string id, std::shared_ptr<const tenant_limits> limits, std::uint64_t seed,
           std::chrono::steady_clock::time_point now, std::unique_ptr<tenant_observer> observer);
    tenant(const tenant&) = delete;
    tenant& operator=(const tenant&) = delete;

    const std::string& id() const noexcept { return state_.id(); }
    strand_type& strand() noexcept { return strand_; }
    /// Only on `strand()`.
    tenant_state& state() noexcept { return state_; }
    std::uint32_t inflight() const noexcept { return inflight_.load(std::memory_order_relaxed); }
    tenant_observer* observer() const noexcept { return observer_.get(); }

private:
    friend class tenant_registry;
    friend class tenant_lease;

    strand_type strand_;
    tenant_state state_;
    std::atomic<std::uint32_t> inflight_{0};
    std::unique_ptr<tenant_observer> observer_;
};

/// One decision in flight for a tenant: holds the tenant (even if it is evicted meanwhile) and
/// gives its in-flight slot back when destroyed. Destroy it only when the strand is done with the
/// state.
class tenant_lease
{
public:
    tenant_lease() = default;
    explicit tenant_lease(std::shared_ptr<tenant> t) noexcept : tenant_(std::move(t)) {}
    tenant_lease(tenant_lease&&) noexcept = default;
    tenant_lease& operator=(tenant_lease&& other) noexcept
    {
        release();
        tenant_ = std::move(other.tenant_);
        return *this;
    }
    ~tenant_lease() { release(); }

    explicit operator bool() const noexcept { return tenant_ != nullptr; }
    tenant* operator->() const noexcept { return tenant_.get(); }
    tenant& operator*() const noexcept { return *tenant_; }

    void release() noexcept
    {
        if (tenant_) tenant_->inflight_.fetch_sub(1, std::memory_order_acq_rel);
        tenant_.reset();
    }

private:
    std::shared_ptr<tenant> tenant_;
};

class tenant_registry
{
public:
    using clock = std::chrono::steady_clock;
    /// Creates the wiring's per-tenant observer; may be empty, may return null.
    using observer_factory = std::function<std::unique_ptr<tenant_observer>(std::string_view tenant_id)>;

    enum class admission
    {
        admitted,      ///< the lease holds one of the tenant's in-flight slots
        unknown,       ///< no state for the tenant and `create` was false
        inflight_cap,  ///< the tenant has `inflight_max` decisions in flight already
        registry_full, ///< no room for a new tenant: every tenant of its shard is busy
    };

    struct acquired
    {
        admission verdict = admission::unknown;
        tenant_lease lease; ///< set when admitted
    };

    /// `seed` starts the sequence the tenants' random streams are drawn from.
    tenant_registry(asio::io_context::executor_type ex, tenant_registry_limits limits, std::uint64_t seed,
                    observer_factory make_observer = {});
    tenant_registry(const tenant_registry&) = delete;
    tenant_registry& operator=(const tenant_registry&) = delete;

    /// Takes an in-flight slot of `tenant_id`'s state, creating the state when `create` is true
    /// (evicting the least recently used idle tenant when the registry is full). `now` starts a new
    /// tenant's buckets. `decision` false: the slot is for other work on the tenant's state (a
    /// result for its breakers), which the tenant's observer is not told of.
    acquired acquire(std::string_view tenant_id, bool create, clock::time_point now, bool decision = true);

    /// Tenants with state now.
    std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
    /// Idle tenants dropped to make room since start.
    std::uint64_t evictions() const noexcept { return evictions_.load(std::memory_order_relaxed); }
    const tenant_registry_limits& limits() const noexcept { return limits_; }
    /// How many tenants one shard keeps; the shards together never exceed `max_tenants`.
    std::size_t shard_capacity() const noexcept { return shard_capacity_; }

private:
    /// A tenant id with its hash, computed once per lookup for both the shard and its map.
    struct hashed_id
    {
        std::string_view id;
        std::size_t hash;
        explicit hashed_id(std::string_view s) noexcept : id(s), hash(std::hash<std::string_view>{}(s)) {}
        /// The hashes first: a key's bytes are the tenant's, one cache miss away, and the
        /// other keys of a bucket are told apart without them.
        bool operator==(const hashed_id& o) const noexcept { return hash == o.hash && id == o.id; }
    };
    struct hashed_id_hash
    {
        using is_avalanching = void; ///< std::hash over the bytes mixes well: the map uses it as is
        std::size_t operator()(const hashed_id& k) const noexcept { return k.hash; }
    };
    struct shard
    {
        std::mutex mutex;
        std::list<std::shared_ptr<tenant>> lru; ///< most recently used first
        /// Keyed by a view of the tenant's own id: the tenant lives as long as its LRU node. Open
        /// addressing: with tens of thousands of tenants a lookup costs one cold slot, not a
        /// bucket, a node and the node after it.
        boost::unordered_flat_map<hashed_id, std::list<std::shared_ptr<tenant>>::iterator, hashed_id_hash> index;
    };

    shard& shard_for(const hashed_id& tenant_id) noexcept;
    /// Unlinks the least recently used idle tenant of `s` and returns it (null when none is idle
    /// near the end of the LRU). Under s.mutex; the caller destroys it after unlocking.
    std::shared_ptr<tenant> evict_one(shard& s);
    std::uint64_t next_seed() noexcept;

    asio::io_context::executor_type executor_;
    tenant_registry_limits limits_;
    std::shared_ptr<const tenant_limits> state_limits_; ///< limits_.state, shared by every tenant
    observer_factory make_observer_;
    std::vector<shard> shards_;
    std::size_t shard_capacity_;
    std::atomic<std::uint64_t> seed_;
    std::atomic<std::size_t> size_{0};
    std::atomic<std::uint64_t> evictions_{0};
};

} // namespace beamline::router
