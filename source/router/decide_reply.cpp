#include "beamline/router/decide_reply.hpp"

#include "beamline/router/decide_json.hpp"
#include "beamline/router/decide_request.hpp"

#include <charconv>

namespace beamline::router
{
namespace
{

/// Appends `,"key":"value"` (or without the comma for the first member).
void append_member(std::string& out, std::string_view key, std::string_view value, bool& first)
{
    if (!first) out.push_back(',');
    first = false;
    out.push_back('"');
    out.append(key); // keys are fixed ASCII names of the contract
    out.append("\":");
    append_json_string(out, value);
}

void append_context(std::string& out, const reply_context& ctx)
{
    out.append(",\"context\":{");
    bool first = true;
    if (!ctx.request_id.empty()) append_member(out, "request_id", ctx.request_id, first);
    if (!ctx.tenant_id.empty()) append_member(out, "tenant_id", ctx.tenant_id, first);
    if (!ctx.trace_id.empty()) append_member(out, "trace_id", ctx.trace_id, first);
    out.push_back('}');
}

void append_unsigned(std::string& out, std::uint64_t v)
{
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

} // namespace

reply_context context_of(const decide_request& r) noexcept
{
    return {r.request_id, r.tenant_id, r.trace_id};
}

void append_decision_object(std::string& out, const decision& d)
{
    out.append("{\"provider_id\":");
    append_json_string(out, d.provider_id);
    out.append(",\"priority\":");
    append_unsigned(out, static_cast<std::uint64_t>(d.priority()));
    out.append(",\"reason\":\"").append(to_string(d.reason)).append("\"");
    out.append(",\"expected_latency_ms\":");
    append_json_number(out, d.expected_latency_ms);
    out.append(",\"expected_cost\":");
    append_json_number(out, d.expected_cost);
    bool first = false;
    if (!d.policy_id.empty()) append_member(out, "policy_id", d.policy_id, first);
    if (!d.policy_version.empty()) append_member(out, "policy_version", d.policy_version, first);
    out.push_back('}');
}

void append_decide_success(std::string& out, const decision& d, const reply_context& ctx)
{
    out.append("{\"ok\":true,\"decision\":");
    append_decision_object(out, d);
    append_context(out, ctx);
    out.push_back('}');
}

void append_decide_error(std::string& out, const error_reply& e, const reply_context& ctx)
{
    out.append("{\"ok\":false,\"error\":{\"code\":\"").append(to_string(e.code)).append("\"");
    if (e.intake) out.append(",\"intake_error_code\":\"").append(to_string(*e.intake)).append("\"");
    out.append(",\"message\":");
    append_json_string(out, e.message.empty() ? to_string(e.code) : e.message);
    if (e.code == reply_error::rate_limited || e.code == reply_error::overloaded)
    {
        out.append(",\"retry_after_ms\":");
        append_unsigned(out, e.retry_after_ms);
    }
    if (e.code == reply_error::decision_failed)
    {
        out.append(",\"details\":[");
        bool first_exclusion = true;
        for (const exclusion& x : e.details)
        {
            if (!first_exclusion) out.push_back(',');
            first_exclusion = false;
            out.append("{\"provider\":");
            append_json_string(out, x.provider);
            out.append(",\"reason\":");
            append_json_string(out, x.reason);
            out.push_back('}');
        }
        out.push_back(']');
    }
    out.push_back('}');
    append_context(out, ctx);
    out.push_back('}');
}

void append_intake_error(std::string& out, const intake_error& e)
{
    append_decide_error(out, error_reply{e.reply_code(), e.code, e.message, 0, {}},
                        reply_context{e.request_id, {}, {}});
}

} // namespace beamline::router
