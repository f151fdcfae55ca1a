#include "beamline/router/breaker_status.hpp"

#include <algorithm>

namespace beamline::router
{

void breaker_status_table::update(std::string_view tenant, std::string_view provider, const void* owner,
                                  const circuit_breaker::snapshot& s, clock::time_point now)
{
    std::lock_guard lock(mutex_);
    auto& r = rows_[{std::string(tenant), std::string(provider)}];
    r.owner = owner;
    r.state = s;
    r.taken = now;
}

void breaker_status_table::forget(std::string_view tenant, const void* owner)
{
    std::lock_guard lock(mutex_);
    auto it = rows_.lower_bound(std::pair<std::string, std::string>{std::string(tenant), std::string()});
    while (it != rows_.end() && it->first.first == tenant)
        it = it->second.owner == owner ? rows_.erase(it) : std::next(it);
}

std::vector<breaker_status_table::row> breaker_status_table::list(std::string_view tenant, clock::time_point now) const
{
    std::vector<row> out;
    std::lock_guard lock(mutex_);
    for (const auto& [key, r] : rows_)
    {
        if (!tenant.empty() && key.first != tenant) continue;
        auto s = r.state;
        if (s.state == breaker_state::open)
        {
            // The breaker moves to half_open lazily, at its next look; the table tells it as it is.
            auto left = s.open_remaining - std::chrono::duration_cast<std::chrono::milliseconds>(now - r.taken);
            if (left <= std::chrono::milliseconds::zero())
            {
                s.state = breaker_state::half_open;
                s.open_remaining = std::chrono::milliseconds::zero();
                s.half_open_calls = 0;
                s.half_open_successes = 0;
            }
            else
                s.open_remaining = left;
        }
        out.push_back(row{key.first, key.second, s});
    }
    return out;
}

std::vector<std::string> breaker_status_table::tenants() const
{
    std::vector<std::string> out;
    std::lock_guard lock(mutex_);
    for (const auto& [key, r] : rows_)
        if (out.empty() || out.back() != key.first) out.push_back(key.first);
    return out;
}

} // namespace beamline::router
