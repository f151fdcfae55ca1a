#include <beamline/router/sticky_store.hpp>
#include <functional>

namespace beamline::router
{

std::size_t sticky_store::key_hash::operator()(const key_view& k) const noexcept
{
    auto h = std::hash<std::string_view>{}(k.policy_id);
    return h ^ (std::hash<std::string_view>{}(k.session) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
}

sticky_store::sticky_store(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

void sticky_store::erase(binding_map::iterator it)
{
    by_expiry_.erase(it->second.expiry);
    bindings_.erase(it);
}

std::optional<std::string_view> sticky_store::touch(std::string_view policy_id, std::string_view session,
                                                    clock::time_point now, clock::duration ttl)
{
    auto it = bindings_.find(key_view{policy_id, session});
    if (it == bindings_.end()) return std::nullopt;
    if (it->second.expiry->first <= now)
    {
        erase(it);
        return std::nullopt;
    }
    // Re-key the index node in place: no allocation on the hit path.
    auto node = by_expiry_.extract(it->second.expiry);
    node.key() = now + ttl;
    it->second.expiry = by_expiry_.insert(std::move(node));
    return std::string_view(it->second.provider);
}

std::optional<std::string_view> sticky_store::peek(std::string_view policy_id, std::string_view session,
                                                   clock::time_point now) const
{
    auto it = bindings_.find(key_view{policy_id, session});
    if (it == bindings_.end() || it->second.expiry->first <= now) return std::nullopt;
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
        auto node = by_expiry_.extract(it->second.expiry);
        node.key() = now + ttl;
        it->second.expiry = by_expiry_.insert(std::move(node));
        return;
    }
    if (bindings_.size() >= capacity_)
    {
        purge_expired(now);
        // Nothing expired: give up the binding nearest its end.
        if (bindings_.size() >= capacity_) erase(bindings_.find(*by_expiry_.begin()->second));
    }
    auto [inserted, ok] = bindings_.emplace(key{std::string(policy_id), std::string(session)},
                                            binding{std::string(provider), by_expiry_.end()});
    (void)ok;
    inserted->second.expiry = by_expiry_.emplace(now + ttl, &inserted->first);
}

std::size_t sticky_store::purge_expired(clock::time_point now)
{
    std::size_t dropped = 0;
    while (!by_expiry_.empty() && by_expiry_.begin()->first <= now)
    {
        erase(bindings_.find(*by_expiry_.begin()->second));
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
