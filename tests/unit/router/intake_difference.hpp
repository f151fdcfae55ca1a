#pragma once
// Two intake results compared member by member: how the tests and the decide_request fuzz target
// hold the event reader (parse_decide_request) to the document path (parse_decide_request_dom).

#include "beamline/router/decide_request.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>
#include <string_view>

namespace beamline::router::test
{

/// Empty when `a` (the event reader's) and `b` (the document path's) are the same request or the
/// same refusal, else the first difference.
inline std::string intake_difference(const intake_result& a, const intake_result& b)
{
    if (a.ok() != b.ok())
        return a.ok() ? "the first accepts, the second refuses: " + b.error().message
                      : "the first refuses (" + a.error().message + "), the second accepts";
    auto differ = [](std::string_view what, const auto& x, const auto& y)
    {
        std::string m(what);
        m.append(" differs: ").append(x).append(" / ").append(y);
        return m;
    };
    if (!a.ok())
    {
        const intake_error& x = a.error();
        const intake_error& y = b.error();
        if (x.code != y.code) return differ("the code", to_string(x.code), to_string(y.code));
        if (x.message != y.message) return differ("the message", x.message, y.message);
        if (x.request_id != y.request_id) return differ("the request id", x.request_id, y.request_id);
        return {};
    }
    const decide_request& x = a.request();
    const decide_request& y = b.request();
    const std::pair<std::string_view, std::pair<const std::string*, const std::string*>> strings[] = {
        {"request_id", {&x.request_id, &y.request_id}},
        {"tenant_id", {&x.tenant_id, &y.tenant_id}},
        {"policy_id", {&x.policy_id, &y.policy_id}},
        {"trace_id", {&x.trace_id, &y.trace_id}},
        {"run_id", {&x.run_id, &y.run_id}},
        {"flow_id", {&x.flow_id, &y.flow_id}},
        {"step_id", {&x.step_id, &y.step_id}},
        {"idempotency_key", {&x.idempotency_key, &y.idempotency_key}},
        {"assignment_subject", {&x.assignment_subject, &y.assignment_subject}},
    };
    for (const auto& [name, pair] : strings)
        if (*pair.first != *pair.second) return differ(name, *pair.first, *pair.second);
    if (x.push_assignment != y.push_assignment) return "push_assignment differs";
    const constraints& cx = x.constraints;
    const constraints& cy = y.constraints;
    if (cx.max_latency_ms != cy.max_latency_ms || cx.max_cost != cy.max_cost ||
        cx.providers_allow != cy.providers_allow || cx.providers_deny != cy.providers_deny)
        return "constraints differ";
    // Serialised, so that the order of members counts too: the two paths build them alike.
    const std::pair<std::string_view, std::pair<std::string, std::string>> documents[] = {
        // The task is text: the reader keeps the body's, the document path serialises what it parsed.
        // So the body's text is parsed once here too (a second parse of a serialised number need not
        // give the same number back).
        {"task", {boost::json::serialize(boost::json::parse(x.task)), y.task}},
        {"options", {boost::json::serialize(x.options), boost::json::serialize(y.options)}},
        {"metadata", {boost::json::serialize(x.metadata), boost::json::serialize(y.metadata)}},
        {"constraints", {boost::json::serialize(x.constraints_object), boost::json::serialize(y.constraints_object)}},
    };
    for (const auto& [name, pair] : documents)
        if (pair.first != pair.second) return differ(name, pair.first, pair.second);
    if (x.sources.trace_id != y.sources.trace_id || x.sources.tenant_id != y.sources.tenant_id ||
        x.sources.version != y.sources.version)
        return "the correlation sources differ";
    return {};
}

} // namespace beamline::router::test
