#include <beamline/router/sticky_store.hpp>

#include <beamline/router/shared_state.hpp>

#include <functional>

namespace beamline::router
{

std::size_t sticky_store::key_hash::operator()(const key_view& k) const noexcept
{
    auto h = std::hash<std::string_view>{}(k.policy_id);
    return h ^ (std::hash<std::string_view>{}(k.session) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
}

sticky_store::sticky_store(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

void sticky_store::share(shared_sticky* shared, std::string tenant_id)
{
    shared_ = shared;
    tenant_id_ = std::move(tenant_id);
}

void sticky_store::tell_shared(std::string_view policy_id, std::string_view session, binding& b,
                               clock::time_point now, clock::duration ttl)
{
    if (!shared_ || b.shared_until - now > ttl / 2) return;
    shared_->bound(tenant_id_, policy_id, session, b.provider, std::chrono::duration_cast<std::chrono::milliseconds>(ttl));
    b.shared_until = now + ttl;
}

std::optional<std::string_view> sticky_store::adopt_shared(std::string_view policy_id, std::string_view session,
                                                           clock::time_point now, clock::duration ttl)
{
    if (!shared_ || session.size() > max_session_bytes) return std::nullopt;
    auto known = shared_->find(tenant_id_, policy_id, session);
    if (!known || known->remaining.count() <= 0) return std::nullopt;
    // Served for the TTL from now, like any hit; the shared copy is refreshed when half of it is gone.
    insert(policy_id, session, known->provider, now, now + ttl, now + known->remaining);
    auto it = bindings_.find(key_view{policy_id, session});
    tell_shared(policy_id, session, it->second, now, ttl);
    return std::string_view(it->second.provider);
}

void sticky_store::erase(binding_map::iterator it)
{
    by_expiry_.erase(it->second.expiry);
    bindings_.erase(it);
}

void sticky_store::reindex(binding& b)
{
    // Re-key the index node in place: no allocation.
    auto node = by_expiry_.extract(b.expiry);
    node.key() = b.expires;
    b.expiry = by_expiry_.insert(std::move(node));
    b.indexed = b.expires;
}

sticky_store::binding_map::iterator sticky_store::nearest_end()
{
    // Every node's time is at or before its binding's expiry: a first node that is exact is the
    // earliest expiry of all; one that is not is moved to its place and the next first looked at.
    for (;;)
    {
        auto it = bindings_.find(*by_expiry_.begin()->second);
        if (it->second.indexed == it->second.expires) return it;
        reindex(it->second);
    }
}

std::optional<std::string_view> sticky_store::touch(std::string_view policy_id, std::string_view session,
                                                    clock::time_point now, clock::duration ttl)
{
    auto it = bindings_.find(key_view{policy_id, session});
    if (it == bindings_.end()) return adopt_shared(policy_id, session, now, ttl);
    if (it->second.expires <= now)
    {
        erase(it);
        return adopt_shared(policy_id, session, now, ttl);
    }
    auto& b = it->second;
    b.expires = now + ttl;
    if (b.expires - b.indexed > ttl / 8) reindex(b);
    if (shared_) tell_shared(policy_id, session, it->second, now, ttl);
    return std::string_view(it->second.provider);
}

std::optional<std::string_view> sticky_store::peek(std::string_view policy_id, std::string_view session,
                                                   clock::time_point now) const
{
    auto it = bindings_.find(key_view{policy_id, session});
    if (it == bindings_.end() || it->second.expires <= now) return std::nullopt;
    return std::string_view(it->second.provider);
}

void sticky_store::bind(std::string_view policy_id, std::string_view session, std::string_view provider,
                        clock::time_point now, clock::duration ttl)
{
    if (session.size() > max_session_bytes) return;
    auto it = bindings_.find(key_view{policy_id, session});
    if (it != bindings_.end())
    {
        it->second.provider.assign(provider);
        it->second.expires = now + ttl;
        reindex(it->second);
        it->second.shared_until = {}; // a new provider: the shared copy is stale
        if (shared_) tell_shared(policy_id, session, it->second, now, ttl);
        return;
    }
    insert(policy_id, session, provider, now, now + ttl, {});
    if (shared_) tell_shared(policy_id, session, bindings_.find(key_view{policy_id, session})->second, now, ttl);
}

void sticky_store::insert(std::string_view policy_id, std::string_view session, std::string_view provider,
                          clock::time_point now, clock::time_point expires, clock::time_point shared_until)
{
    if (bindings_.size() >= capacity_)
    {
        purge_expired(now);
        // Nothing expired: give up the binding nearest its end.
        if (bindings_.size() >= capacity_) erase(nearest_end());
    }
    auto [inserted, ok] = bindings_.emplace(key{std::string(policy_id), std::string(session)},
                                            binding{std::string(provider), expires, by_expiry_.end(), expires, shared_until});
    (void)ok;
    inserted->second.expiry = by_expiry_.emplace(expires, &inserted->first);
}

std::size_t sticky_store::purge_expired(clock::time_point now)
{
    std::size_t dropped = 0;
    while (!by_expiry_.empty() && by_expiry_.begin()->first <= now)
    {
        auto it = nearest_end();
        if (it->second.expires > now) break;
        erase(it);
        ++dropped;
    }
    return dropped;
}

void sticky_store::forget_policy(std::string_view policy_id)
{
    for (auto it = bindings_.begin(); it != bindings_.end();)
    {
        if (it->first.policy_id == policy_id)
        {
            by_expiry_.erase(it->second.expiry);
            it = bindings_.erase(it);
        }
        else
            ++it;
    }
}

} // namespace beamline::router
