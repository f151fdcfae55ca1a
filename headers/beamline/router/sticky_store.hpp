#pragma once
// Session → provider bindings for sticky routing, one store per tenant.
//
// Not thread-safe: a store belongs to its tenant's strand, which serialises every call.
//
// Bounded: at `capacity` entries, a new binding first drops whatever has expired and then the
// binding closest to expiry (with one TTL per policy, the oldest), so a flood of fresh session ids
// costs a bounded amount of memory. Session values longer than `max_session_bytes` are never bound.
// A hit refreshes the binding's expiry (a session in use stays on its provider).
//
// Shared (router.state=jetstream): the store is then a cache of the deployment's bindings. A miss
// asks the `shared_sticky` (memory only, no round trip) before giving up; a new binding is told to
// it, and so is a refresh once the shared copy has used up half its TTL, so a hot session costs a
// write per half TTL, not per request.

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace beamline::router
{

class shared_sticky;

class sticky_store
{
public:
    using clock = std::chrono::steady_clock;
    static constexpr std::size_t default_capacity = 100'000;
    static constexpr std::size_t max_session_bytes = 256;

    explicit sticky_store(std::size_t capacity = default_capacity);

    /// Makes this store a cache of `shared`'s bindings for `tenant_id`; `shared` outlives the store.
    void share(shared_sticky* shared, std::string tenant_id);

    /// The live binding for (policy, session), refreshing its expiry to now + ttl; nullopt when
    /// absent or expired (an expired binding is removed).
    std::optional<std::string_view> touch(std::string_view policy_id, std::string_view session,
                                          clock::time_point now, clock::duration ttl);

    /// The live binding without refreshing it.
    std::optional<std::string_view> peek(std::string_view policy_id, std::string_view session,
                                         clock::time_point now) const;

    /// Binds (policy, session) to provider until now + ttl, replacing any earlier binding.
    void bind(std::string_view policy_id, std::string_view session, std::string_view provider,
              clock::time_point now, clock::duration ttl);

    /// Drops every binding whose expiry is at or before now; returns how many.
    std::size_t purge_expired(clock::time_point now);

    /// Drops all bindings of one policy (when it is removed or replaced by an incompatible version).
    void forget_policy(std::string_view policy_id);

    std::size_t size() const noexcept { return bindings_.size(); }
    std::size_t capacity() const noexcept { return capacity_; }

private:
    struct key
    {
        std::string policy_id;
        std::string session;
    };
    struct key_view
    {
        std::string_view policy_id;
        std::string_view session;
    };
    struct key_hash
    {
        using is_transparent = void;
        std::size_t operator()(const key_view& k) const noexcept;
        std::size_t operator()(const key& k) const noexcept
        {
            return (*this)(key_view{k.policy_id, k.session});
        }
    };
    struct key_equal
    {
        using is_transparent = void;
        static key_view view(const key& k) noexcept { return {k.policy_id, k.session}; }
        static key_view view(const key_view& k) noexcept { return k; }
        template <class A, class B>
        bool operator()(const A& a, const B& b) const noexcept
        {
            return view(a).policy_id == view(b).policy_id && view(a).session == view(b).session;
        }
    };

    // Keys of an unordered_map keep their address across rehashing, so the index can point at them.
    using expiry_index = std::multimap<clock::time_point, const key*>;
    /// The index may hold an earlier time than `expires`: a hit moves `expires` only, and the
    /// index node is re-keyed when the two are more than an eighth of the TTL apart or when the
    /// node comes first (purge, eviction). So a hit costs no tree operation, and the index still
    /// finds the binding nearest its end exactly.
    struct binding
    {
        std::string provider;
        clock::time_point expires;
        expiry_index::iterator expiry;
        clock::time_point indexed;        ///< the time `expiry` is filed under: a hit reads it here, not in the tree
        clock::time_point shared_until{}; ///< when the copy the shared store holds expires
    };
    using binding_map = std::unordered_map<key, binding, key_hash, key_equal>;

    void erase(binding_map::iterator it);
    void reindex(binding& b);
    /// The binding nearest its end (the index's first node made exact); the index must not be empty.
    binding_map::iterator nearest_end();
    void insert(std::string_view policy_id, std::string_view session, std::string_view provider,
                clock::time_point now, clock::time_point expires, clock::time_point shared_until);
    std::optional<std::string_view> adopt_shared(std::string_view policy_id, std::string_view session,
                                                 clock::time_point now, clock::duration ttl);
    void tell_shared(std::string_view policy_id, std::string_view session, binding& b, clock::time_point now,
                     clock::duration ttl);

    shared_sticky* shared_ = nullptr;
    std::string tenant_id_;

    std::size_t capacity_;
    binding_map bindings_;
    expiry_index by_expiry_;
};

} // namespace beamline::router
