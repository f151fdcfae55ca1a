#include "beamline/router/exec_assignment.hpp"

#include "beamline/router/decide_json.hpp"
#include "beamline/router/decide_reply.hpp"
#include "beamline/router/decide_request.hpp"

#include <algorithm>
#include <cmath>

namespace beamline::router
{
namespace
{

constexpr double deadline_latency_multiplier = 5;
constexpr std::int64_t min_deadline_ms = 5000;
constexpr std::int64_t max_deadline_ms = 60000;
constexpr int default_max_attempts = 2;
constexpr int default_backoff_ms = 200;

void append_integer(std::string& out, std::int64_t v)
{
    append_json_number(out, static_cast<double>(v));
}

/// The defaults of SPEC §4.5 for every key the request's options leave out, then the request's
/// options (shallow: a request `retry` replaces the whole default `retry`).
void append_options(std::string& out, const boost::json::object& requested, const decision& d)
{
    out.push_back('{');
    bool first = true;
    auto key = [&](std::string_view name)
    {
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, name);
        out.push_back(':');
    };
    if (!requested.contains("priority"))
    {
        key("priority");
        append_integer(out, d.priority());
    }
    if (!requested.contains("deadline_ms"))
    {
        key("deadline_ms");
        append_integer(out, assignment_deadline_ms(d.expected_latency_ms));
    }
    if (!requested.contains("retry"))
    {
        key("retry");
        out.append("{\"max_attempts\":");
        append_integer(out, default_max_attempts);
        out.append(",\"backoff_ms\":");
        append_integer(out, default_backoff_ms);
        out.push_back('}');
    }
    for (const auto& member : requested)
    {
        key(member.key());
        append_json_value(out, member.value());
    }
    out.push_back('}');
}

} // namespace

std::int64_t assignment_deadline_ms(double expected_latency_ms) noexcept
{
    double scaled = expected_latency_ms * deadline_latency_multiplier;
    if (!(scaled >= static_cast<double>(min_deadline_ms))) // NaN lands on the minimum
        return min_deadline_ms;
    if (scaled >= static_cast<double>(max_deadline_ms)) return max_deadline_ms;
    return static_cast<std::int64_t>(std::ceil(scaled));
}

std::string_view assignment_subject_for(const decide_request& r, std::string_view configured_default) noexcept
{
    return r.assignment_subject.empty() ? configured_default : std::string_view(r.assignment_subject);
}

exec_assignment append_exec_assignment(std::string& body, const decide_request& r, const decision& d,
                                       random_ref rng)
{
    exec_assignment a;
    a.assignment_id = make_uuid_v4(rng);
    a.trace_id = r.trace_id.empty() ? make_trace_id(rng) : to_w3c_trace_id(r.trace_id);

    body.append("{\"version\":\"1\",\"assignment_id\":\"").append(a.assignment_id).append("\"");
    body.append(",\"request_id\":");
    append_json_string(body, r.request_id);
    body.append(",\"tenant_id\":");
    append_json_string(body, r.tenant_id);
    body.append(",\"executor\":{\"provider_id\":");
    append_json_string(body, d.provider_id);
    body.append(",\"channel\":\"nats\"},\"job\":");
    body.append(r.task.empty() ? std::string_view("null") : std::string_view(r.task));
    body.append(",\"options\":");
    append_options(body, r.options, d);
    body.append(",\"correlation\":{");
    if (!r.trace_id.empty())
    {
        body.append("\"trace_id\":");
        append_json_string(body, r.trace_id);
    }
    body.append("},\"decision\":");
    append_decision_object(body, d);
    body.append(",\"metadata\":");
    append_json_value(body, r.metadata);
    body.push_back('}');

    a.headers.push_back({"tenant_id", r.tenant_id});
    a.headers.push_back({"version", "1"});
    a.headers.push_back({"trace_id", r.trace_id.empty() ? a.trace_id : r.trace_id});
    a.headers.push_back({"traceparent", format_traceparent(a.trace_id, make_span_id(rng))});
    return a;
}

} // namespace beamline::router
