#include "beamline/router/decide_request.hpp"

#include "beamline/common/subject.hpp"
#include "beamline/router/detail/request_fields.hpp"
#include "beamline/router/ids.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cmath>

namespace beamline::router
{
namespace json = boost::json;

namespace
{

using detail::request_field;
using detail::request_fields;
using key = detail::request_key;

constexpr std::size_t max_request_id_bytes = 128;
constexpr std::size_t max_idempotency_key_bytes = 256;

std::string_view kind_name(json::kind k) noexcept
{
    switch (k)
    {
    case json::kind::null:
        return "null";
    case json::kind::bool_:
        return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
        return "a number";
    case json::kind::string:
        return "a string";
    case json::kind::array:
        return "an array";
    case json::kind::object:
        return "an object";
    }
    return "a value";
}

/// "<field> must be <expected>, got <kind>".
std::string wrong_type(std::string_view field, std::string_view expected, json::kind got)
{
    std::string m(field);
    m.append(" must be ").append(expected).append(", got ").append(kind_name(got));
    return m;
}

/// A member that is present and not null.
const json::value* member(const json::object& o, std::string_view key) noexcept
{
    const json::value* v = o.if_contains(key);
    return v && !v->is_null() ? v : nullptr;
}

std::string quoted(std::string_view s)
{
    std::string out;
    out.reserve(s.size() + 2);
    out.append("\"").append(s).append("\"");
    return out;
}

/// Builds errors that carry the request id once it is known to be valid.
struct refusal
{
    std::string_view request_id; ///< views the request's fields, which outlive every refusal

    intake_error operator()(intake_code code, std::string message) const
    {
        return intake_error{code, std::move(message), std::string(request_id)};
    }
    intake_error schema(std::string message) const
    {
        return (*this)(intake_code::schema_validation_failed, std::move(message));
    }
    intake_error correlation(std::string message) const
    {
        return (*this)(intake_code::correlation_fields_invalid, std::move(message));
    }
};

/// A correlation string is echoed in replies, headers and logs: a control character (NUL, CR, LF,
/// ESC...) in one would end a C string, split a log line or forge a terminal sequence downstream.
bool has_control_character(std::string_view s) noexcept
{
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == '\x7f'; });
}

bool valid_request_id(const request_field& f) noexcept
{
    return f.kind == json::kind::string && !f.text.empty() && f.text.size() <= max_request_id_bytes &&
           !has_control_character(f.text);
}

/// The `vN` token of a subject such as `beamline.router.v1.decide`, if any.
std::optional<std::string_view> subject_version(std::string_view subject) noexcept
{
    while (!subject.empty())
    {
        std::size_t dot = subject.find('.');
        std::string_view token = subject.substr(0, dot);
        if (token.size() >= 2 && token[0] == 'v' &&
            std::all_of(token.begin() + 1, token.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return token.substr(1);
        if (dot == std::string_view::npos) break;
        subject.remove_prefix(dot + 1);
    }
    return std::nullopt;
}

std::optional<intake_error> check_version(const request_field& v, const request_meta& meta,
                                          const refusal& refuse, field_source& source)
{
    auto unsupported = [&](std::string got)
    {
        return refuse(intake_code::version_unsupported,
                      "unsupported version " + got + "; the only supported version is the string \"1\"");
    };
    if (meta.version)
    {
        source = field_source::header;
        if (*meta.version == "1") return std::nullopt;
        return unsupported(quoted(*meta.version) + " (header version)");
    }
    if (v.present())
    {
        source = field_source::payload;
        if (v.kind == json::kind::string && v.text == "1") return std::nullopt;
        if (v.kind == json::kind::string) return unsupported(quoted(v.text) + " (field version)");
        return refuse(intake_code::version_unsupported, wrong_type("version", R"(the string "1")", v.kind));
    }
    if (auto from_subject = subject_version(meta.subject))
    {
        source = field_source::subject;
        if (*from_subject == "1") return std::nullopt;
        return unsupported(quoted(*from_subject) + " (from subject " + std::string(meta.subject) + ")");
    }
    return refuse(intake_code::version_unsupported,
                  "version is missing: set the header or field version to \"1\" (subject " +
                      quoted(meta.subject) + " carries none)");
}

/// An optional string field: absent → nullopt, present → its text, ill-typed → error.
struct string_field
{
    std::optional<std::string_view> text;
    bool ill_typed = false;
    json::kind kind = json::kind::null;
};

string_field read_string(const request_field& v) noexcept
{
    if (!v.present()) return {};
    if (v.kind != json::kind::string) return {std::nullopt, true, v.kind};
    return {v.text, false, json::kind::string};
}

std::optional<intake_error> check_correlation_ids(const request_fields& fields, decide_request& r,
                                                  const request_meta& meta, const refusal& refuse)
{
    // policy_id
    if (auto f = read_string(fields[key::policy_id]); f.ill_typed)
        return refuse.correlation(wrong_type("policy_id", "a string", f.kind));
    else if (f.text)
    {
        if (!is_tenant_or_policy_id(*f.text))
            return refuse.correlation("policy_id must be 1-64 characters of [A-Za-z0-9_.-]");
        r.policy_id.assign(*f.text);
    }

    // trace_id, else a valid traceparent header
    if (auto f = read_string(fields[key::trace_id]); f.ill_typed)
        return refuse.correlation(wrong_type("trace_id", "a string", f.kind));
    else if (f.text)
    {
        if (!is_trace_id(*f.text))
            return refuse.correlation("trace_id must be 32 hex characters or a UUID, not all zeros");
        r.trace_id.assign(*f.text);
        r.sources.trace_id = field_source::payload;
    }
    else if (meta.traceparent)
    {
        if (auto tp = parse_traceparent(*meta.traceparent))
        {
            r.trace_id.assign(tp->trace_id);
            r.sources.trace_id = field_source::header;
        }
    }

    // run_id, flow_id, step_id: all or none, each a UUID or a ULID
    static constexpr std::string_view run_keys[] = {"run_id", "flow_id", "step_id"};
    static constexpr key run_members[] = {key::run_id, key::flow_id, key::step_id};
    std::string* run_targets[] = {&r.run_id, &r.flow_id, &r.step_id};
    string_field run_fields[3];
    int present = 0;
    for (int i = 0; i < 3; ++i)
    {
        run_fields[i] = read_string(fields[run_members[i]]);
        if (run_fields[i].ill_typed)
            return refuse.correlation(wrong_type(run_keys[i], "a string", run_fields[i].kind));
        present += run_fields[i].text ? 1 : 0;
    }
    if (present != 0 && present != 3)
    {
        std::string missing;
        for (int i = 0; i < 3; ++i)
            if (!run_fields[i].text) missing.append(missing.empty() ? "" : " and ").append(run_keys[i]);
        return refuse.correlation("run_id, flow_id and step_id go together: " + missing + " missing");
    }
    for (int i = 0; i < present; ++i)
    {
        if (!is_uuid(*run_fields[i].text) && !is_ulid(*run_fields[i].text))
            return refuse.correlation(std::string(run_keys[i]) + " must be a UUID or a 26-character ULID");
        run_targets[i]->assign(*run_fields[i].text);
    }

    // idempotency_key
    if (auto f = read_string(fields[key::idempotency_key]); f.ill_typed)
        return refuse.correlation(wrong_type("idempotency_key", "a string", f.kind));
    else if (f.text)
    {
        if (f.text->empty() || f.text->size() > max_idempotency_key_bytes)
            return refuse.correlation("idempotency_key must be 1-256 bytes, got " +
                                      std::to_string(f.text->size()));
        if (has_control_character(*f.text))
            return refuse.correlation("idempotency_key must not contain control characters");
        r.idempotency_key.assign(*f.text);
    }
    return std::nullopt;
}

std::optional<intake_error> check_task(const request_field& task, const detail::task_shape& shape,
                                       const refusal& refuse)
{
    using json::kind;
    if (task.kind != kind::object) return refuse.schema(wrong_type("task", "an object", task.kind));
    if (shape.type == kind::null) return refuse.schema("task.type is required");
    if (shape.type != kind::string || shape.type_empty) return refuse.schema("task.type must be a non-empty string");
    if (shape.payload != kind::null && shape.payload != kind::object)
        return refuse.schema(wrong_type("task.payload", "an object", shape.payload));
    if (shape.payload_ref != kind::null && shape.payload_ref != kind::string)
        return refuse.schema(wrong_type("task.payload_ref", "a string", shape.payload_ref));
    if (shape.payload == kind::null && shape.payload_ref == kind::null)
        return refuse.schema("task needs payload (an object) or payload_ref (a string)");
    return std::nullopt;
}

std::optional<intake_error> read_figure(const json::object& c, std::string_view key,
                                        std::optional<double>& out, const refusal& refuse)
{
    const json::value* v = member(c, key);
    if (!v) return std::nullopt;
    if (!v->is_number())
        return refuse.schema(wrong_type("constraints." + std::string(key), "a number", v->kind()));
    double d = v->to_number<double>();
    if (!std::isfinite(d) || d < 0)
        return refuse.schema("constraints." + std::string(key) + " must be a non-negative number");
    out = d;
    return std::nullopt;
}

std::optional<intake_error> read_provider_list(const json::object& c, std::string_view key,
                                               std::vector<std::string>& out, bool& present,
                                               const refusal& refuse)
{
    const json::value* v = member(c, key);
    present = v != nullptr;
    if (!v) return std::nullopt;
    auto ill_typed = [&]
    { return refuse.schema("constraints." + std::string(key) + " must be an array of strings"); };
    if (!v->is_array()) return ill_typed();
    out.reserve(v->get_array().size());
    for (const json::value& p : v->get_array())
    {
        if (!p.is_string()) return ill_typed();
        out.emplace_back(p.get_string());
    }
    return std::nullopt;
}

std::optional<intake_error> check_constraints(const json::object& c, router::constraints& out,
                                              const refusal& refuse)
{
    if (auto e = read_figure(c, "max_latency_ms", out.max_latency_ms, refuse)) return e;
    if (auto e = read_figure(c, "max_cost", out.max_cost, refuse)) return e;
    std::vector<std::string> allow;
    bool allow_present = false;
    if (auto e = read_provider_list(c, "providers_allow", allow, allow_present, refuse)) return e;
    if (allow_present) out.providers_allow = std::move(allow);
    bool deny_present = false;
    return read_provider_list(c, "providers_deny", out.providers_deny, deny_present, refuse);
}

/// Moves an optional object member out of the request; ill-typed → error naming the field.
std::optional<intake_error> take_object(const request_field& v, std::string_view name, json::object& out,
                                        const refusal& refuse)
{
    if (!v.present()) return std::nullopt;
    if (v.kind != json::kind::object) return refuse.schema(wrong_type(name, "an object", v.kind));
    out.swap(v.value->get_object()); // cheaper than move-assignment, which makes a temporary
    return std::nullopt;
}

std::optional<intake_error> read_push_assignment(const request_field& v, bool& out, const refusal& refuse)
{
    if (!v.present()) return std::nullopt;
    // Older callers send "true" or 1; the matching false spellings are accepted too.
    if (v.kind == json::kind::bool_)
        out = v.boolean;
    else if (v.kind == json::kind::string && (v.text == "true" || v.text == "false"))
        out = v.text == "true";
    else if (v.kind == json::kind::int64 && (v.int64 == 0 || v.int64 == 1)) // 0 and 1 never parse as uint64
        out = v.int64 == 1;
    else
        return refuse.schema("push_assignment must be true or false (\"true\" and 1 are also accepted)");
    return std::nullopt;
}

std::optional<intake_error> read_assignment_subject(const request_field& v, const intake_limits& limits,
                                                    std::string& out, const refusal& refuse)
{
    auto f = read_string(v);
    if (f.ill_typed) return refuse.schema(wrong_type("assignment_subject", "a string", f.kind));
    if (!f.text) return std::nullopt;
    if (!f.text->starts_with(limits.assignment_subject_prefix))
        return refuse.schema("assignment_subject must start with " +
                             quoted(limits.assignment_subject_prefix));
    if (f.text->size() > common::max_subject_bytes)
        return refuse.schema("assignment_subject is " + std::to_string(f.text->size()) +
                             " bytes, above the " + std::to_string(common::max_subject_bytes) +
                             "-byte limit that keeps its publish line within nats-server's control line");
    if (!common::valid_publish_subject(*f.text))
        return refuse.schema("assignment_subject must be a valid NATS subject: dot-separated tokens, "
                             "no empty token, no blank or control character, no * or >");
    out.assign(*f.text);
    return std::nullopt;
}

} // namespace

tenant_allow_list::tenant_allow_list(std::vector<std::string> tenants) : sorted_(std::move(tenants))
{
    std::sort(sorted_.begin(), sorted_.end());
    sorted_.erase(std::unique(sorted_.begin(), sorted_.end()), sorted_.end());
}

bool tenant_allow_list::allows(std::string_view tenant_id) const noexcept
{
    return sorted_.empty() || std::binary_search(sorted_.begin(), sorted_.end(), tenant_id, std::less<>{});
}

std::optional<intake_error> check_tenant_allowed(const decide_request& request,
                                                 const tenant_allow_list& allowed)
{
    if (allowed.allows(request.tenant_id)) return std::nullopt;
    return intake_error{intake_code::tenant_forbidden,
                        "tenant_id " + quoted(request.tenant_id) +
                            " is not in the router's tenant allow-list",
                        request.request_id};
}

namespace
{

intake_error oversized(std::string_view body, const intake_limits& limits)
{
    return refusal{}.schema("request is " + std::to_string(body.size()) + " bytes, above the " +
                            std::to_string(limits.max_payload) + "-byte max_payload");
}

/// Validation in the contract's order (see the header) over the request's members.
intake_result validate(request_fields& fields, const request_meta& meta, const intake_limits& limits)
{
    refusal refuse;
    const request_field& request_id = fields[key::request_id];
    if (valid_request_id(request_id)) refuse.request_id = request_id.text;

    field_source version_source = field_source::absent;
    if (auto e = check_version(fields[key::version], meta, refuse, version_source)) return std::move(*e);

    // Required fields.
    if (!request_id.present()) return refuse.correlation("request_id is required");
    const request_field& tenant_id = fields[key::tenant_id];
    if (!tenant_id.present()) return refuse.correlation("tenant_id is required");
    const request_field& task = fields[key::task];
    if (!task.present()) return refuse.schema("task is required");

    // Formats.
    if (!valid_request_id(request_id))
        return refuse.correlation(
            "request_id must be a non-empty string of at most 128 bytes without control characters");
    if (tenant_id.kind != json::kind::string || !is_tenant_or_policy_id(tenant_id.text))
        return refuse.correlation("tenant_id must be a string of 1-64 characters of [A-Za-z0-9_.-]");
    if (auto e = check_task(task, fields.task, refuse)) return std::move(*e);

    decide_request r;
    r.request_id.assign(refuse.request_id);
    r.tenant_id.assign(tenant_id.text);
    r.sources.tenant_id = field_source::payload; // a decide request's tenant is its payload's (SPEC §4.1)
    r.sources.version = version_source;
    if (auto e = check_correlation_ids(fields, r, meta, refuse)) return std::move(*e);

    if (auto e = take_object(fields[key::constraints], "constraints", r.constraints_object, refuse))
        return std::move(*e);
    if (auto e = check_constraints(r.constraints_object, r.constraints, refuse)) return std::move(*e);
    if (auto e = take_object(fields[key::metadata], "metadata", r.metadata, refuse)) return std::move(*e);
    if (auto e = read_push_assignment(fields[key::push_assignment], r.push_assignment, refuse))
        return std::move(*e);
    if (auto e = read_assignment_subject(fields[key::assignment_subject], limits, r.assignment_subject, refuse))
        return std::move(*e);
    if (auto e = take_object(fields[key::options], "options", r.options, refuse)) return std::move(*e);

    if (auto e = check_tenant_allowed(r, limits.tenants)) return std::move(*e);

    r.task.assign(task.text);
    return r;
}

} // namespace

intake_result parse_decide_request(std::string_view body, const request_meta& meta,
                                   const intake_limits& limits)
{
    if (body.size() > limits.max_payload) return oversized(body, limits);
    // The usual request is read straight from the parser's events, without a document for the
    // whole of it; anything else is parsed into one, whose refusal names the cause.
    request_fields fields;
    if (!detail::read_fields(body, fields)) return detail::parse_decide_request_dom(body, meta, limits);
    return validate(fields, meta, limits);
}

namespace detail
{

intake_result parse_decide_request_dom(std::string_view body, const request_meta& meta,
                                       const intake_limits& limits)
{
    if (body.size() > limits.max_payload) return oversized(body, limits);
    boost::system::error_code ec;
    json::value doc = json::parse(body, ec);
    if (ec) return refusal{}.schema("request is not valid JSON: " + ec.message());
    if (!doc.is_object()) return refusal{}.schema(wrong_type("request", "a JSON object", doc.kind()));
    request_fields fields;
    read_fields(doc.get_object(), fields);
    return validate(fields, meta, limits);
}

} // namespace detail

} // namespace beamline::router
