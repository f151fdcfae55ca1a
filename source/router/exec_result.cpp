#include "beamline/router/exec_result.hpp"

#include "beamline/router/decide_json.hpp"
#include "beamline/router/ids.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>

namespace beamline::router
{

namespace json = boost::json;

std::string_view to_string(result_status s) noexcept
{
    switch (s)
    {
    case result_status::success: return "success";
    case result_status::error: return "error";
    case result_status::timeout: return "timeout";
    case result_status::cancelled: return "cancelled";
    }
    return "success";
}

namespace
{

result_rejection reject(std::string message)
{
    return result_rejection{"INVALID_RESULT", std::move(message)};
}

std::optional<result_status> parse_status(std::string_view s) noexcept
{
    if (s == "success") return result_status::success;
    if (s == "error") return result_status::error;
    if (s == "timeout") return result_status::timeout;
    if (s == "cancelled") return result_status::cancelled;
    return std::nullopt;
}

/// A member that is present and not null.
const json::value* member(const json::object& o, std::string_view key) noexcept
{
    const json::value* v = o.if_contains(key);
    return v && !v->is_null() ? v : nullptr;
}

/// Reads an optional string member; returns an error sentence when it is not a string.
std::optional<std::string> read_string(const json::object& o, std::string_view key, std::string& out)
{
    const json::value* v = member(o, key);
    if (!v) return std::nullopt;
    if (!v->is_string()) return std::string(key) + " must be a string";
    out.assign(v->get_string().data(), v->get_string().size());
    return std::nullopt;
}

std::optional<std::string> read_id(const json::object& o, std::string_view key, std::size_t max, std::string& out)
{
    if (auto e = read_string(o, key, out)) return e;
    if (!out.empty() && !is_printable_id(out, max))
        return std::string(key) + " must be 1-" + std::to_string(max) + " printable characters without spaces";
    return std::nullopt;
}

std::optional<std::string> read_amount(const json::object& o, std::string_view key, std::optional<double>& out)
{
    const json::value* v = member(o, key);
    if (!v) return std::nullopt;
    if (!v->is_number()) return std::string(key) + " must be a number";
    double d = v->to_number<double>();
    if (!std::isfinite(d) || d < 0) return std::string(key) + " must be a finite number >= 0";
    out = d;
    return std::nullopt;
}

/// Header value, else payload member; an ill-typed payload member is an error.
std::optional<std::string> header_or_member(const json::object& o, std::string_view key,
                                            std::optional<std::string_view> header, std::string& out)
{
    if (header)
    {
        out.assign(header->data(), header->size());
        return std::nullopt;
    }
    return read_string(o, key, out);
}

} // namespace

bool is_printable_id(std::string_view s, std::size_t max) noexcept
{
    return !s.empty() && s.size() <= max &&
           std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

result_intake parse_exec_result(std::string_view body, const result_headers& headers, std::int64_t now_ms,
                                const result_limits& limits)
{
    if (body.size() > limits.max_payload)
        return reject("result of " + std::to_string(body.size()) + " bytes is over the limit of " +
                      std::to_string(limits.max_payload));
    json::error_code ec;
    json::value root = json::parse(json::string_view(body.data(), body.size()), ec);
    if (ec) return reject("result is not valid JSON: " + ec.message());
    const json::object* obj = root.if_object();
    if (!obj) return reject("result must be a JSON object");

    exec_result r;
    std::string version;
    if (auto e = header_or_member(*obj, "version", headers.version, version)) return reject(*e);
    if (version != "1") return reject(version.empty() ? "version is missing" : "version \"" + version + "\" is not supported");

    if (auto e = read_id(*obj, "assignment_id", limits.max_id_length, r.assignment_id)) return reject(*e);
    if (auto e = read_id(*obj, "request_id", limits.max_id_length, r.request_id)) return reject(*e);
    if (r.assignment_id.empty() && r.request_id.empty())
        return reject("a result needs assignment_id or request_id");

    if (auto e = header_or_member(*obj, "tenant_id", headers.tenant_id, r.tenant_id)) return reject(*e);
    if (!is_tenant_or_policy_id(r.tenant_id))
        return reject(r.tenant_id.empty() ? "tenant_id is missing" : "tenant_id must be 1-64 of [A-Za-z0-9_.-]");

    if (auto e = read_id(*obj, "provider_id", limits.max_id_length, r.provider_id)) return reject(*e);
    if (r.provider_id.empty()) return reject("provider_id is missing");

    std::string status;
    if (auto e = read_string(*obj, "status", status)) return reject(*e);
    auto st = parse_status(status);
    if (!st)
        return reject(status.empty() ? "status is missing"
                                     : "status \"" + status + "\" is not one of success, error, timeout, cancelled");
    r.status = *st;

    if (const json::value* job = member(*obj, "job"))
    {
        if (!job->is_object()) return reject("job must be an object");
        if (auto e = read_string(job->get_object(), "type", r.job_type)) return reject("job." + *e);
    }
    if (auto e = read_amount(*obj, "latency_ms", r.latency_ms)) return reject(*e);
    if (auto e = read_amount(*obj, "cost", r.cost)) return reject(*e);
    if (auto e = read_id(*obj, "error_code", limits.max_id_length, r.error_code)) return reject(*e);
    if (auto e = read_id(*obj, "error_type", limits.max_id_length, r.error_type)) return reject(*e);
    if (auto e = read_string(*obj, "error_message", r.error_message)) return reject(*e);
    if (r.error_message.size() > limits.max_text_length) r.error_message.resize(limits.max_text_length);

    if (auto e = header_or_member(*obj, "trace_id", headers.trace_id, r.trace_id)) return reject(*e);
    if (!r.trace_id.empty() && !is_trace_id(r.trace_id)) return reject("trace_id must be 32 hex characters or a UUID");

    r.timestamp_ms = now_ms;
    if (const json::value* ts = member(*obj, "timestamp"))
    {
        if (ts->is_int64() && ts->get_int64() >= 0)
            r.timestamp_ms = ts->get_int64();
        else if (ts->is_uint64() && ts->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
            r.timestamp_ms = static_cast<std::int64_t>(ts->get_uint64());
        else
            return reject("timestamp must be a whole number of milliseconds >= 0");
    }
    return r;
}

std::string usage_id_of(const exec_result& r)
{
    std::string id = "usage-";
    id += r.tenant_id;
    id += '-';
    id += r.job_id();
    return id;
}

namespace
{

void field(std::string& out, std::string_view key, std::string_view value)
{
    if (value.empty()) return;
    out += ",\"";
    out += key;
    out += "\":";
    append_json_string(out, value);
}

void field(std::string& out, std::string_view key, const std::optional<double>& value)
{
    if (!value) return;
    out += ",\"";
    out += key;
    out += "\":";
    append_json_number(out, *value);
}

} // namespace

void append_usage_event(std::string& out, const exec_result& r)
{
    out += "{\"version\":\"1\",\"usage_id\":";
    append_json_string(out, usage_id_of(r));
    field(out, "tenant_id", r.tenant_id);
    field(out, "provider_id", r.provider_id);
    field(out, "event_type", r.job_type);
    field(out, "status", to_string(r.status));
    field(out, "latency_ms", r.latency_ms);
    field(out, "cost", r.cost);
    field(out, "assignment_id", r.assignment_id);
    field(out, "request_id", r.request_id);
    field(out, "trace_id", r.trace_id);
    out += ",\"timestamp\":";
    out += std::to_string(r.timestamp_ms);
    out += '}';
}

std::string dead_letter_id(std::string_view stream, std::uint64_t stream_seq)
{
    std::string id = "dlq-";
    id += stream;
    id += '-';
    id += std::to_string(stream_seq);
    return id;
}

std::chrono::milliseconds metering_retry_delay(std::uint64_t delivered) noexcept
{
    constexpr std::chrono::milliseconds cap{30'000};
    if (delivered == 0) delivered = 1;
    if (delivered > 6) return cap; // 2^5 s = 32 s is past the cap already
    return std::min(cap, std::chrono::milliseconds(1000LL << (delivered - 1)));
}

} // namespace beamline::router
