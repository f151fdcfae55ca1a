#include <algorithm>
#include <array>
#include <beamline/router/selection.hpp>
#include <bitset>
#include <charconv>
#include <stdexcept>

namespace beamline::router
{

namespace json = boost::json;

void throw_exception_from_error(selection_failure const& e, boost::source_location const&)
{
    throw std::runtime_error(e.message);
}

namespace
{

enum class cause : std::uint8_t
{
    none,
    denied,
    not_allowed,
    latency,
    cost,
    breaker,
};

bool listed(const std::vector<std::string>& names, std::string_view name) noexcept
{
    return std::find(names.begin(), names.end(), name) != names.end();
}

/// The constraints are checked before the breaker, so `breaker` means "only the breaker".
cause cause_for(const provider_entry* entry, std::string_view name, const constraints& limits,
                const provider_predicate& breaker_open)
{
    if (listed(limits.providers_deny, name)) return cause::denied;
    if (limits.providers_allow && !listed(*limits.providers_allow, name)) return cause::not_allowed;
    if (entry && limits.max_latency_ms && entry->expected_latency_ms &&
        *entry->expected_latency_ms > *limits.max_latency_ms)
        return cause::latency;
    if (entry && limits.max_cost && entry->cost && *entry->cost > *limits.max_cost) return cause::cost;
    if (breaker_open && breaker_open(name)) return cause::breaker;
    return cause::none;
}

std::string describe(cause c, const provider_entry* entry, const constraints& limits)
{
    switch (c)
    {
    case cause::none:
        return {};
    case cause::denied:
        return "denied by providers_deny";
    case cause::not_allowed:
        return "not in providers_allow";
    case cause::latency:
        return "expected latency " + format_number(*entry->expected_latency_ms) +
               " ms exceeds max_latency_ms " + format_number(*limits.max_latency_ms);
    case cause::cost:
        return "cost " + format_number(*entry->cost) + " exceeds max_cost " + format_number(*limits.max_cost);
    case cause::breaker:
        return "circuit breaker open";
    }
    return {};
}

decision make_decision(const policy& pol, std::string_view provider, decision_reason reason)
{
    decision d;
    d.provider_id = provider;
    d.reason = reason;
    if (const auto* entry = pol.find_provider(provider))
    {
        d.expected_latency_ms = entry->expected_latency_ms.value_or(0);
        d.expected_cost = entry->cost.value_or(0);
    }
    d.policy_id = pol.id;
    d.policy_version = pol.version;
    return d;
}

/// The session value as text: strings as they are, integers in decimal (into `buffer`).
std::string_view session_value(const routing_context& context, const std::string& key,
                               std::array<char, 24>& buffer) noexcept
{
    const json::value* found = context.find(key);
    if (!found) return {};
    const auto& v = *found;
    if (const auto* s = v.if_string()) return *s;
    std::to_chars_result r{};
    if (v.is_int64())
        r = std::to_chars(buffer.data(), buffer.data() + buffer.size(), v.get_int64());
    else if (v.is_uint64())
        r = std::to_chars(buffer.data(), buffer.data() + buffer.size(), v.get_uint64());
    else
        return {};
    return {buffer.data(), static_cast<std::size_t>(r.ptr - buffer.data())};
}

selection_failure explain(const policy& pol, const selection_request& request)
{
    selection_failure failure;
    failure.message = "no provider satisfies policy '" + pol.id + "' and the request's constraints";
    std::vector<std::string_view> seen;
    auto add = [&](std::string_view name, std::string_view otherwise)
    {
        if (std::find(seen.begin(), seen.end(), name) != seen.end()) return;
        seen.push_back(name);
        const auto* entry = pol.find_provider(name);
        auto why =
            describe(cause_for(entry, name, request.limits, request.breaker_open), entry, request.limits);
        failure.details.push_back({std::string(name), why.empty() ? std::string(otherwise) : std::move(why)});
    };
    for (const auto& p : pol.providers)
    {
        bool is_target = std::any_of(pol.fallbacks.begin(), pol.fallbacks.end(),
                                     [&](const fallback_rule& r) { return r.to == p.name; });
        if (p.weight > 0 || !is_target) add(p.name, "weight is 0 and no fallback names it");
    }
    for (const auto& rule : pol.fallbacks)
        add(rule.to, "no fallback rule naming it matched the request");
    if (pol.fallback_provider) add(*pol.fallback_provider, "excluded");
    return failure;
}

} // namespace

std::string exclusion_reason(const policy& pol, std::string_view provider, const constraints& limits,
                             provider_predicate breaker_open)
{
    const auto* entry = pol.find_provider(provider);
    return describe(cause_for(entry, provider, limits, breaker_open), entry, limits);
}

selection_result select_provider(const policy& pol, const selection_request& request)
{
    const auto& limits = request.limits;
    auto excluded = [&](std::string_view name)
    { return cause_for(pol.find_provider(name), name, limits, request.breaker_open) != cause::none; };

    // 1. sticky
    std::array<char, 24> session_buffer{};
    std::string_view session;
    bool sticky = pol.sticky.enabled && request.sticky;
    if (sticky)
    {
        session = session_value(request.context, pol.sticky.session_key, session_buffer);
        sticky = !session.empty();
    }
    if (sticky)
    {
        // Only weighted choices are bound, so a binding to a provider the current version of the
        // policy no longer weights (an edit since) is stale and ignored.
        if (auto bound = request.sticky->touch(pol.id, session, request.now, pol.sticky.ttl); bound)
            if (const auto* entry = pol.find_provider(*bound);
                entry && entry->weight > 0 &&
                cause_for(entry, *bound, limits, request.breaker_open) == cause::none)
                return make_decision(pol, *bound, decision_reason::sticky);
    }

    // 2. fallback rules
    for (const auto& rule : pol.fallbacks)
        if (rule.when.evaluate(request.context) && !excluded(rule.to))
            return make_decision(pol, rule.to, decision_reason::fallback);

    // 3. weighted
    std::bitset<policy::max_providers> eligible;
    double eligible_weight = 0;
    bool breaker_removed = false;
    for (std::size_t i = 0; i < pol.providers.size(); ++i)
    {
        const auto& p = pol.providers[i];
        if (p.weight <= 0) continue;
        auto c = cause_for(&p, p.name, limits, request.breaker_open);
        if (c == cause::none)
        {
            eligible.set(i);
            eligible_weight += p.weight;
        }
        else if (c == cause::breaker)
            breaker_removed = true;
    }
    if (eligible_weight > 0)
    {
        double u = static_cast<double>(request.random >> 11) * 0x1.0p-53;
        std::size_t chosen = pol.providers.size();
        if (eligible_weight == pol.total_weight)
        {
            auto it = std::upper_bound(pol.cumulative_weights.begin(), pol.cumulative_weights.end(),
                                       u * pol.total_weight);
            chosen = static_cast<std::size_t>(it - pol.cumulative_weights.begin());
        }
        else
        {
            double target = u * eligible_weight, running = 0;
            for (std::size_t i = 0; i < pol.providers.size() && chosen == pol.providers.size(); ++i)
                if (eligible.test(i) && (running += pol.providers[i].weight) > target) chosen = i;
        }
        // Rounding can leave the target at the very end: take the last eligible provider.
        if (chosen >= pol.providers.size() || !eligible.test(chosen))
            for (std::size_t i = pol.providers.size(); i-- > 0;)
                if (eligible.test(i))
                {
                    chosen = i;
                    break;
                }
        const auto& name = pol.providers[chosen].name;
        if (sticky) request.sticky->bind(pol.id, session, name, request.now, pol.sticky.ttl);
        return make_decision(pol, name, decision_reason::weighted);
    }

    // 4. legacy last resort
    if (pol.fallback_provider && !excluded(*pol.fallback_provider))
        return make_decision(pol, *pol.fallback_provider,
                             breaker_removed ? decision_reason::circuit_breaker_fallback
                                             : decision_reason::fallback);

    return explain(pol, request);
}

} // namespace beamline::router
