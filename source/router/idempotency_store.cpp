#include "beamline/router/idempotency_store.hpp"

#include "beamline/router/decide_request.hpp"

#include <boost/json/parse.hpp>
#include <cmath>
#include <cstring>
#include <limits>

namespace beamline::router
{
namespace json = boost::json;

namespace
{

constexpr std::uint64_t mix(std::uint64_t x) noexcept // splitmix64 finaliser
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/// A seeded 64-bit hash; two seeds give the two halves of the fingerprint.
class hasher
{
public:
    explicit hasher(std::uint64_t seed) noexcept : seed_(seed) {}

    std::uint64_t bytes(std::string_view s) const noexcept
    {
        std::uint64_t h = mix(seed_ ^ (s.size() * 0x9e3779b97f4a7c15ULL));
        std::size_t i = 0;
        for (; i + 8 <= s.size(); i += 8)
        {
            std::uint64_t chunk;
            std::memcpy(&chunk, s.data() + i, 8);
            h = mix(h ^ chunk) + 0x9e3779b97f4a7c15ULL;
        }
        std::uint64_t tail = 0;
        std::memcpy(&tail, s.data() + i, s.size() - i);
        return mix(h ^ tail ^ 0x5bd1e995);
    }

    std::uint64_t value(const json::value& v) const noexcept
    {
        switch (v.kind())
        {
        case json::kind::null:
            return tagged(1, 0);
        case json::kind::bool_:
            return tagged(2, v.get_bool() ? 1 : 0);
        case json::kind::int64:
            return integer(v.get_int64());
        case json::kind::uint64:
            return v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                       ? integer(static_cast<std::int64_t>(v.get_uint64()))
                       : tagged(4, v.get_uint64());
        case json::kind::double_:
            return number(v.get_double());
        case json::kind::string:
            return tagged(6, bytes(v.get_string()));
        case json::kind::array:
        {
            std::uint64_t h = tagged(7, v.get_array().size());
            for (const json::value& element : v.get_array())
                h = mix(h ^ value(element)) + 1;
            return h;
        }
        case json::kind::object:
            return object(v.get_object());
        }
        return 0;
    }

    /// Members are combined by addition, so their order does not matter.
    std::uint64_t object(const json::object& o) const noexcept
    {
        std::uint64_t sum = 0;
        for (const auto& member : o)
            sum += mix(bytes(member.key()) ^ (value(member.value()) * 0x9e3779b97f4a7c15ULL));
        return tagged(8, sum ^ o.size());
    }

    std::uint64_t number(double d) const noexcept
    {
        constexpr double int64_bound = 9223372036854775808.0; // 2^63
        if (std::trunc(d) == d && d >= -int64_bound && d < int64_bound)
            return integer(static_cast<std::int64_t>(d));
        std::uint64_t bits;
        std::memcpy(&bits, &d, sizeof bits);
        return tagged(5, bits);
    }

    std::uint64_t integer(std::int64_t i) const noexcept { return tagged(3, static_cast<std::uint64_t>(i)); }

    std::uint64_t tagged(std::uint64_t tag, std::uint64_t payload) const noexcept
    {
        return mix(seed_ + tag * 0x9e3779b97f4a7c15ULL + mix(payload));
    }

    /// `task` is the request's task parsed, so that two spellings of one task are one task.
    std::uint64_t request(const decide_request& r, const json::value& task) const noexcept
    {
        std::uint64_t h = seed_;
        auto add = [&](std::uint64_t part) { h = mix(h ^ part) + 0x9e3779b97f4a7c15ULL; };
        add(bytes(r.tenant_id));
        add(bytes(r.policy_id));
        add(value(task));
        add(r.constraints.max_latency_ms ? number(*r.constraints.max_latency_ms) : tagged(9, 0));
        add(r.constraints.max_cost ? number(*r.constraints.max_cost) : tagged(9, 1));
        add(tagged(10, r.constraints.providers_allow ? r.constraints.providers_allow->size() + 1 : 0));
        if (r.constraints.providers_allow)
            for (const std::string& p : *r.constraints.providers_allow)
                add(bytes(p));
        add(tagged(11, r.constraints.providers_deny.size()));
        for (const std::string& p : r.constraints.providers_deny)
            add(bytes(p));
        add(object(r.constraints_object)); // with metadata, the routing context
        add(object(r.metadata));
        add(object(r.options));
        add(tagged(12, r.push_assignment ? 1 : 0));
        add(bytes(r.assignment_subject));
        add(bytes(r.run_id));
        add(bytes(r.flow_id));
        add(bytes(r.step_id));
        return mix(h);
    }

private:
    std::uint64_t seed_;
};

} // namespace

request_fingerprint fingerprint_of(const decide_request& r)
{
    // Intake kept the task as the caller wrote it; a repeat may space or order it differently.
    boost::system::error_code ec;
    json::value task = r.task.empty() ? json::value() : json::parse(r.task, ec);
    if (ec) task = json::string(r.task); // not JSON (only a request made in code): its bytes, then
    return {hasher(0x243f6a8885a308d3ULL).request(r, task), hasher(0x13198a2e03707344ULL).request(r, task)};
}

intake_error idempotency_conflict(const decide_request& r)
{
    return intake_error{intake_code::idempotency_violation,
                        "idempotency_key was already used by tenant " + r.tenant_id +
                            " for a different request; use a new key for a new request",
                        r.request_id};
}

idempotency_store::idempotency_store(limits l) : limits_(l)
{
    if (limits_.max_entries == 0) limits_.max_entries = 1;
}

idempotency_store::~idempotency_store()
{
    if (limits_.entries_in_all_stores)
        limits_.entries_in_all_stores->fetch_sub(static_cast<std::int64_t>(index_.size()), std::memory_order_relaxed);
}

idempotency_store::lookup_result
idempotency_store::lookup(std::string_view key, const request_fingerprint& fingerprint, time_point now)
{
    auto found = index_.find(key);
    if (found == index_.end()) return {};
    entry_list::iterator it = found->second;
    if (now >= it->expires_at)
    {
        erase(it);
        return {};
    }
    if (it->fingerprint != fingerprint) return {verdict::conflict, {}};
    return {verdict::replay, it->reply};
}

void idempotency_store::remember(std::string_view key, const request_fingerprint& fingerprint,
                                 std::string_view reply, time_point now)
{
    while (!entries_.empty() && now >= entries_.front().expires_at)
        erase(entries_.begin());
    if (auto found = index_.find(key); found != index_.end()) erase(found->second);
    while (entries_.size() >= limits_.max_entries)
    {
        erase(entries_.begin());
        ++evictions_;
    }
    entries_.push_back(entry{std::string(key), fingerprint, std::string(reply), now + limits_.ttl});
    index_.emplace(entries_.back().key, std::prev(entries_.end()));
    if (limits_.entries_in_all_stores) limits_.entries_in_all_stores->fetch_add(1, std::memory_order_relaxed);
}

void idempotency_store::forget(std::string_view key)
{
    if (auto found = index_.find(key); found != index_.end()) erase(found->second);
}

void idempotency_store::erase(entry_list::iterator it)
{
    index_.erase(std::string_view(it->key));
    entries_.erase(it);
    if (limits_.entries_in_all_stores) limits_.entries_in_all_stores->fetch_sub(1, std::memory_order_relaxed);
}

} // namespace beamline::router
