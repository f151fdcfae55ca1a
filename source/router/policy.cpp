#include <algorithm>
#include <array>
#include <beamline/common/units.hpp>
#include <beamline/router/policy.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <charconv>
#include <cmath>
#include <string>
#include <unordered_set>

namespace beamline::router
{

namespace json = boost::json;
using namespace std::chrono_literals;

const provider_entry* policy::find_provider(std::string_view name) const noexcept
{
    for (const auto& p : providers)
        if (p.name == name) return &p;
    return nullptr;
}

std::string format_number(double value)
{
    std::array<char, 32> buffer{};
    auto r = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    return std::string(buffer.data(), r.ptr);
}

namespace
{

/// A year is far beyond any sensible session lifetime; the bound matches ttl_seconds'.
constexpr std::chrono::milliseconds max_sticky_ttl = std::chrono::hours{366 * 24};

policy_error fail(std::string_view where, std::string_view what)
{
    return {std::string(where) + " " + std::string(what)};
}

std::optional<double> as_number(const json::value& v) noexcept
{
    if (v.is_int64() || v.is_uint64() || v.is_double()) return v.to_number<double>();
    return std::nullopt;
}

std::string at_index(std::string_view base, std::size_t i)
{
    return std::string(base) + "[" + std::to_string(i) + "]";
}

std::string member(std::string_view base, std::string_view key)
{
    return std::string(base) + "." + std::string(key);
}

/// Reads an optional number in [low, high]; absent leaves `out` untouched.
template <class T>
std::optional<policy_error> read_number(const json::object& obj, std::string_view key, std::string_view base,
                                        double low, double high, T& out)
{
    auto it = obj.find(key);
    if (it == obj.end()) return std::nullopt;
    auto n = as_number(it->value());
    auto where = member(base, key);
    if (!n) return fail(where, "must be a number");
    if (*n < low || *n > high)
        return fail(where, "must be between " + format_number(low) + " and " + format_number(high));
    if constexpr (std::is_integral_v<T>)
    {
        if (*n != std::floor(*n)) return fail(where, "must be a whole number");
    }
    out = static_cast<T>(*n);
    return std::nullopt;
}

std::optional<policy_error> read_bool(const json::object& obj, std::string_view key, std::string_view base,
                                      bool& out)
{
    auto it = obj.find(key);
    if (it == obj.end()) return std::nullopt;
    if (!it->value().is_bool()) return fail(member(base, key), "must be true or false");
    out = it->value().get_bool();
    return std::nullopt;
}

std::optional<policy_error> read_providers(const json::value& v, policy& out)
{
    const auto* arr = v.if_array();
    if (!arr) return fail("providers", "must be an array of {\"name\",\"weight\"} objects");
    // Exactly as many as listed (a router holds one policy per tenant, tens of thousands of them);
    // a list over the limit is refused later, so it reserves no more than the limit.
    out.providers.reserve(std::min<std::size_t>(arr->size(), policy::max_providers + 1));
    for (std::size_t i = 0; i < arr->size(); ++i)
    {
        auto where = at_index("providers", i);
        const auto* obj = (*arr)[i].if_object();
        if (!obj) return fail(where, "must be an object with a \"name\"");
        provider_entry entry;
        auto name = obj->find("name");
        if (name == obj->end() || !name->value().is_string() || name->value().get_string().empty())
            return fail(member(where, "name"), "must be a non-empty string");
        entry.name = name->value().get_string();
        if (auto w = obj->find("weight"); w != obj->end())
        {
            auto n = as_number(w->value());
            if (!n || *n < 0) return fail(member(where, "weight"), "must be a non-negative number");
            entry.weight = *n;
        }
        double latency = 0, cost = 0;
        auto has_latency = obj->contains("expected_latency_ms");
        auto has_cost = obj->contains("cost");
        if (auto e = read_number(*obj, "expected_latency_ms", where, 0, 1e9, latency)) return e;
        if (auto e = read_number(*obj, "cost", where, 0, 1e12, cost)) return e;
        if (has_latency) entry.expected_latency_ms = latency;
        if (has_cost) entry.cost = cost;
        out.providers.push_back(std::move(entry));
    }
    return std::nullopt;
}

std::optional<policy_error> read_legacy_weights(const json::value& v, policy& out)
{
    const auto* obj = v.if_object();
    if (!obj) return fail("weights", "must be an object of provider name to weight");
    out.providers.reserve(std::min<std::size_t>(obj->size(), policy::max_providers + 1));
    for (const auto& [name, weight] : *obj)
    {
        auto where = member("weights", name);
        if (name.empty()) return fail("weights", "has an empty provider name");
        auto n = as_number(weight);
        if (!n || *n < 0) return fail(where, "must be a non-negative number");
        out.providers.push_back({std::string(name), *n, 0, std::nullopt, std::nullopt});
    }
    return std::nullopt;
}

std::optional<policy_error> read_fallbacks(const json::value& v, policy& out)
{
    const auto* arr = v.if_array();
    if (!arr) return fail("fallbacks", "must be an array of {\"when\",\"to\"} rules");
    for (std::size_t i = 0; i < arr->size(); ++i)
    {
        auto where = at_index("fallbacks", i);
        const auto* obj = (*arr)[i].if_object();
        if (!obj) return fail(where, "must be an object with \"when\" and \"to\"");
        auto to = obj->find("to");
        if (to == obj->end() || !to->value().is_string() || to->value().get_string().empty())
            return fail(member(where, "to"), "must be a non-empty provider name");
        fallback_rule rule;
        rule.to = to->value().get_string();
        if (auto when = obj->find("when"); when != obj->end())
        {
            auto compiled = compile_condition(when->value(), member(where, "when"));
            if (compiled.has_error()) return compiled.error();
            rule.when = std::move(*compiled);
        }
        out.fallbacks.push_back(std::move(rule));
    }
    return std::nullopt;
}

std::optional<policy_error> read_legacy_fallback(const json::value& v, policy& out)
{
    if (const auto* s = v.if_string())
    {
        if (s->empty()) return fail("fallback", "must name a provider");
        out.fallback_provider = std::string(*s);
        return std::nullopt;
    }
    const auto* obj = v.if_object();
    if (!obj) return fail("fallback", "must be an object {\"provider\",\"conditions\"} or a provider name");
    auto provider = obj->find("provider");
    if (provider == obj->end() || !provider->value().is_string() || provider->value().get_string().empty())
        return fail("fallback.provider", "must be a non-empty provider name");
    out.fallback_provider = std::string(provider->value().get_string());
    if (auto conditions = obj->find("conditions"); conditions != obj->end())
    {
        const auto* list = conditions->value().if_array();
        if (!list) return fail("fallback.conditions", "must be an array of status strings");
        for (std::size_t i = 0; i < list->size(); ++i)
        {
            if (!(*list)[i].is_string())
                return fail(at_index("fallback.conditions", i), "must be a status string");
            out.fallback_conditions.emplace_back((*list)[i].get_string());
        }
    }
    return std::nullopt;
}

std::optional<policy_error> read_sticky(const json::value& v, sticky_config& out)
{
    const auto* obj = v.if_object();
    if (!obj) return fail("sticky", "must be an object");
    if (auto e = read_bool(*obj, "enabled", "sticky", out.enabled)) return e;
    if (auto key = obj->find("session_key"); key != obj->end())
    {
        if (!key->value().is_string() || key->value().get_string().empty() ||
            key->value().get_string().size() > 255)
            return fail("sticky.session_key", "must be a string of 1 to 255 characters");
        out.session_key = key->value().get_string();
    }
    auto ttl = obj->find("ttl");
    auto ttl_seconds = obj->find("ttl_seconds");
    if (ttl != obj->end() && ttl_seconds != obj->end())
        return fail("sticky", "has both ttl and ttl_seconds; keep one");
    if (ttl != obj->end())
    {
        if (const auto* s = ttl->value().if_string())
        {
            // The common grammar, with a unit required (a bare number is the JSON number form).
            auto parsed = common::parse_duration(*s, common::unit_required);
            if (!parsed || parsed.value() <= 0ms || parsed.value() > max_sticky_ttl)
                return fail("sticky.ttl:",
                            "\"" + std::string(*s) +
                                "\" is not a positive duration up to 366d (use 500ms, 30s, 10m, 1h or 1d)");
            out.ttl = parsed.value();
        }
        else
        {
            std::int64_t seconds = 0;
            if (auto e = read_number(*obj, "ttl", "sticky", 1, 366.0 * 86400, seconds)) return e;
            out.ttl = std::chrono::seconds(seconds);
        }
    }
    if (ttl_seconds != obj->end())
    {
        std::int64_t seconds = 0;
        if (auto e = read_number(*obj, "ttl_seconds", "sticky", 1, 366.0 * 86400, seconds)) return e;
        out.ttl = std::chrono::seconds(seconds);
    }
    return std::nullopt;
}

std::optional<policy_error> read_rate_limit(const json::value& v, rate_limit_config& out)
{
    const auto* obj = v.if_object();
    if (!obj) return fail("rate_limit", "must be an object");
    if (auto e = read_bool(*obj, "enabled", "rate_limit", out.enabled)) return e;
    if (obj->contains("rps") && obj->contains("requests_per_second"))
        return fail("rate_limit", "has both rps and requests_per_second; keep one");
    const char* rate_key = obj->contains("rps") ? "rps" : "requests_per_second";
    if (auto e = read_number(*obj, rate_key, "rate_limit", 0.001, 1e6, out.requests_per_second)) return e;
    if (auto e = read_number(*obj, "burst", "rate_limit", 1, 1e6, out.burst)) return e;
    return std::nullopt;
}

std::optional<policy_error> read_circuit_breaker(const json::value& v, circuit_breaker_config& out)
{
    const auto* obj = v.if_object();
    constexpr std::string_view base = "circuit_breaker";
    if (!obj) return fail(base, "must be an object");
    std::int64_t timeout_ms = out.timeout.count();
    std::int64_t window = out.window.count();
    if (obj->contains("window_seconds") && obj->contains("error_rate_window_seconds"))
        return fail(base, "has both window_seconds and error_rate_window_seconds; keep one");
    const char* window_key = obj->contains("window_seconds") ? "window_seconds" : "error_rate_window_seconds";
    if (auto e = read_bool(*obj, "enabled", base, out.enabled)) return e;
    if (auto e = read_number(*obj, "failure_threshold", base, 1, 1e6, out.failure_threshold)) return e;
    if (auto e = read_number(*obj, "success_threshold", base, 1, 1e6, out.success_threshold)) return e;
    if (auto e = read_number(*obj, "timeout_ms", base, 1, 86'400'000, timeout_ms)) return e;
    if (auto e = read_number(*obj, "half_open_max_calls", base, 1, 1e6, out.half_open_max_calls)) return e;
    if (auto e = read_number(*obj, "min_requests", base, 0, 1e9, out.min_requests)) return e;
    if (auto e = read_number(*obj, "error_rate_threshold", base, 0, 1, out.error_rate_threshold)) return e;
    if (auto e = read_number(*obj, window_key, base, 1, 86'400, window)) return e;
    out.timeout = std::chrono::milliseconds(timeout_ms);
    out.window = std::chrono::seconds(window);
    return std::nullopt;
}

std::optional<policy_error> finish(policy& p)
{
    if (p.providers.size() > policy::max_providers)
        return fail("providers", "has more than " + std::to_string(policy::max_providers) + " entries");
    std::unordered_set<std::string_view> seen;
    for (std::size_t i = 0; i < p.providers.size(); ++i)
        if (!seen.insert(p.providers[i].name).second)
            return fail(at_index("providers", i) + ".name", "repeats \"" + p.providers[i].name + "\"");

    if (!p.fallback_conditions.empty())
    {
        json::object when;
        json::array statuses;
        for (const auto& s : p.fallback_conditions)
            statuses.emplace_back(s);
        when["status"] = std::move(statuses);
        auto compiled = compile_condition(when, "fallback.conditions");
        if (compiled.has_error()) return compiled.error();
        p.fallbacks.push_back({std::move(*compiled), *p.fallback_provider});
    }

    p.cumulative_weights.clear();
    p.cumulative_weights.reserve(p.providers.size());
    double sum = 0;
    for (const auto& entry : p.providers)
        p.cumulative_weights.push_back(sum += entry.weight);
    if (!std::isfinite(sum)) return fail("providers", "weights add up to more than a double can hold");
    p.total_weight = sum;
    for (auto& entry : p.providers)
        entry.share = sum > 0 ? entry.weight / sum : 0;

    if (sum <= 0 && p.fallbacks.empty() && !p.fallback_provider)
        return policy_error{"policy selects nothing: it needs a provider with weight > 0 or a fallback"};
    return std::nullopt;
}

} // namespace

policy_result<policy> parse_policy(const json::object& root_object, std::string_view id)
{
    const auto* root = &root_object;
    policy p;
    p.id = id;
    if (root->contains("providers") && root->contains("weights"))
        return policy_error{"policy has both providers and weights; use one of them"};

    for (const auto& [key, field] : *root)
    {
        std::optional<policy_error> e;
        if (key == "version")
        {
            if (field.is_string() && !field.get_string().empty())
                p.version = field.get_string();
            else if (field.is_int64() || field.is_uint64())
                p.version = json::serialize(field);
            else
                e = fail("version", "must be a non-empty string");
        }
        else if (key == "providers")
            e = read_providers(field, p);
        else if (key == "weights")
            e = read_legacy_weights(field, p);
        else if (key == "fallbacks")
            e = read_fallbacks(field, p);
        else if (key == "fallback")
            e = read_legacy_fallback(field, p);
        else if (key == "sticky")
            e = read_sticky(field, p.sticky);
        else if (key == "rate_limit")
            e = read_rate_limit(field, p.rate_limit);
        else if (key == "circuit_breaker")
            e = read_circuit_breaker(field, p.circuit_breaker);
        else
        {
            p.extra.emplace(key, field);
            p.ignored_keys.emplace_back(key);
        }
        if (e) return std::move(*e);
    }
    // The legacy rule goes after the explicit ones whatever the key order, hence in `finish`.
    if (auto e = finish(p)) return std::move(*e);
    return p;
}

policy_result<policy> parse_policy(std::string_view text, std::string_view id)
{
    json::stream_parser parser;
    boost::system::error_code ec;
    auto consumed = parser.write_some(text.data(), text.size(), ec);
    if (!ec && consumed < text.size())
    {
        // Only whitespace may follow the document.
        auto rest = text.substr(consumed);
        if (rest.find_first_not_of(" \t\r\n") != std::string_view::npos)
            return policy_error{"policy is not valid JSON: unexpected data after the document at byte " +
                                std::to_string(consumed)};
    }
    if (!ec) parser.finish(ec);
    if (ec)
        return policy_error{"policy is not valid JSON at byte " + std::to_string(consumed) + ": " +
                            ec.message()};
    auto document = parser.release();
    if (!document.is_object()) return policy_error{"policy must be a JSON object"};
    return parse_policy(document.get_object(), id);
}

} // namespace beamline::router
