#pragma once
// DecideRequest intake (SPEC §4.1): one parse of the request bytes, validation in the contract's
// order, and the typed request the rest of the decision path works from.
//
// Validation order: size → JSON object → version → required fields (request_id, tenant_id, task)
// → formats, field by field in the order of the SPEC table (request_id, tenant_id, task,
// policy_id, trace_id, run/flow/step ids, idempotency_key, constraints, metadata,
// push_assignment, assignment_subject, options) → tenant allow-list. The policy lookup comes
// after, outside intake. The first broken rule is the one reported.
//
// A JSON `null` in an optional field means "absent" (serialisers write unset optionals as null);
// in a required field it is "missing".

#include "beamline/router/decide_errors.hpp"
#include "beamline/router/decision.hpp"
#include "beamline/router/routing_context.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace beamline::router
{

/// What the transport knows about the message besides its body.
struct request_meta
{
    std::string_view subject = {};                    ///< the subject the request arrived on
    std::optional<std::string_view> version = {};     ///< header `version`, when present
    std::optional<std::string_view> traceparent = {}; ///< header `traceparent`, when present
};

/// Where intake found a correlation field (the metric `router_correlation_source_total`).
enum class field_source : unsigned char
{
    header,
    payload,
    subject, ///< the `vN` token of the subject (version only)
    absent,
};
inline constexpr std::size_t field_source_count = 4;

constexpr std::string_view to_string(field_source s) noexcept
{
    switch (s)
    {
    case field_source::header: return "header";
    case field_source::payload: return "payload";
    case field_source::subject: return "subject";
    case field_source::absent: return "absent";
    }
    return "absent";
}

/// The sources of one accepted request's trace_id, tenant_id and version.
struct correlation_sources
{
    field_source trace_id = field_source::absent;
    field_source tenant_id = field_source::absent;
    field_source version = field_source::absent;
};

/// Tenants allowed to ask for decisions. Empty allows every tenant.
class tenant_allow_list
{
public:
    tenant_allow_list() = default;
    explicit tenant_allow_list(std::vector<std::string> tenants);

    bool allows(std::string_view tenant_id) const noexcept;
    bool empty() const noexcept { return sorted_.empty(); }

private:
    std::vector<std::string> sorted_;
};

struct intake_limits
{
    std::size_t max_payload = 1024 * 1024;
    /// `assignment_subject` must start with this; an empty prefix allows any publish subject.
    std::string assignment_subject_prefix = "caf.exec.assign.";
    tenant_allow_list tenants;
};

/// A request that passed intake. Strings are copies (small, and the request outlives the message
/// buffer); JSON parts are moved out of the single parse, not copied.
struct decide_request
{
    std::string request_id;
    std::string tenant_id;
    std::string policy_id = "default";
    std::string trace_id; ///< as given, else the trace id of a valid `traceparent`; empty = unknown
    std::string run_id;   ///< run_id, flow_id, step_id: all three set or all empty
    std::string flow_id;
    std::string step_id;
    std::string idempotency_key;    ///< empty = no idempotency
    std::string assignment_subject; ///< empty = the configured default subject
    bool push_assignment = false;
    router::constraints constraints; ///< the keys selection understands
    /// The `task` object's JSON text as given, for ExecAssignment.job; routing never reads inside it,
    /// so intake checks its shape without building it.
    std::string task;
    boost::json::object options;     ///< as given, overlaid on the ExecAssignment defaults
    boost::json::object metadata;    ///< as given
    /// The `constraints` object as given: the keys `constraints` reads and any others.
    boost::json::object constraints_object;
    /// The routing context: every `constraints` key with `metadata` merged over it (metadata wins).
    /// Sticky session keys and `when` conditions read from here.
    routing_context context() const noexcept { return {&constraints_object, &metadata}; }
    correlation_sources sources;
};

/// Either the request or why intake refused it.
class intake_result
{
public:
    // By rvalue: a request is moved once into the result, not into a parameter and then again.
    intake_result(decide_request&& r) : value_(std::move(r)) {}
    intake_result(intake_error&& e) : value_(std::move(e)) {}

    bool ok() const noexcept { return value_.index() == 0; }
    decide_request& request() { return std::get<0>(value_); }
    const decide_request& request() const { return std::get<0>(value_); }
    intake_error& error() { return std::get<1>(value_); }
    const intake_error& error() const { return std::get<1>(value_); }

private:
    std::variant<decide_request, intake_error> value_;
};

/// Parses and validates a DecideRequest, including the tenant allow-list of `limits`.
intake_result parse_decide_request(std::string_view body, const request_meta& meta,
                                   const intake_limits& limits);

/// The allow-list step on its own, for a caller whose allow-list changes at runtime:
/// TENANT_FORBIDDEN when `allowed` does not admit the request's tenant.
std::optional<intake_error> check_tenant_allowed(const decide_request& request,
                                                 const tenant_allow_list& allowed);

namespace detail
{
/// The same intake over a document parsed first with `boost::json::parse`. parse_decide_request
/// reads the request's members straight from the parser's events instead, and comes here for a
/// body that is not a well-formed JSON object, so that the refusal says why in the parser's words;
/// tests hold the two to the same results.
intake_result parse_decide_request_dom(std::string_view body, const request_meta& meta,
                                       const intake_limits& limits);
} // namespace detail

} // namespace beamline::router
