#include "beamline/router/detail/request_fields.hpp"

#include <cstring>

namespace beamline::router::detail
{
namespace json = boost::json;

namespace
{

/// `k` when `name`, whose length is the literal's, spells it: a comparison of known length, which
/// the compiler turns into a few word compares instead of a call.
template <std::size_t N>
std::optional<request_key> if_spelled(std::string_view name, const char (&literal)[N], request_key k) noexcept
{
    if (std::memcmp(name.data(), literal, N - 1) == 0) return k;
    return std::nullopt;
}

/// The field of a member of `kind`; its text, flag, number or value are filled in after.
request_field field_of_kind(json::kind kind) noexcept
{
    request_field f;
    f.kind = kind;
    return f;
}

} // namespace

std::optional<request_key> request_key_of(std::string_view name) noexcept
{
    // The length, then a letter where two members share it, leave one candidate to compare.
    using k = request_key;
    switch (name.size())
    {
    case 4: return if_spelled(name, "task", k::task);
    case 6: return if_spelled(name, "run_id", k::run_id);
    case 7:
        switch (name[0])
        {
        case 'v': return if_spelled(name, "version", k::version);
        case 'f': return if_spelled(name, "flow_id", k::flow_id);
        case 's': return if_spelled(name, "step_id", k::step_id);
        case 'o': return if_spelled(name, "options", k::options);
        default: return std::nullopt;
        }
    case 8:
        if (name[0] == 't') return if_spelled(name, "trace_id", k::trace_id);
        return if_spelled(name, "metadata", k::metadata);
    case 9:
        if (name[0] == 't') return if_spelled(name, "tenant_id", k::tenant_id);
        return if_spelled(name, "policy_id", k::policy_id);
    case 10: return if_spelled(name, "request_id", k::request_id);
    case 11: return if_spelled(name, "constraints", k::constraints);
    case 15:
        if (name[0] == 'i') return if_spelled(name, "idempotency_key", k::idempotency_key);
        return if_spelled(name, "push_assignment", k::push_assignment);
    case 18: return if_spelled(name, "assignment_subject", k::assignment_subject);
    default: return std::nullopt;
    }
}

void read_fields(json::object& root, request_fields& out) noexcept
{
    for (json::key_value_pair& m : root)
    {
        const auto k = request_key_of(m.key());
        if (!k) continue;
        json::value& v = m.value();
        request_field& f = out[*k];
        f = field_of_kind(v.kind());
        if (v.is_string())
            f.text = v.get_string();
        else if (v.is_bool())
            f.boolean = v.get_bool();
        else if (v.is_int64())
            f.int64 = v.get_int64();
        else if (v.is_object())
            f.value = &v;
    }
}

} // namespace beamline::router::detail
