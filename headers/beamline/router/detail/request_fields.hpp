#pragma once
// The DecideRequest's top-level members as intake's validation reads them, one slot per member the
// SPEC names. Two ways fill them: straight from the JSON parser's events (the usual path: no
// document for the whole request, JSON values built only for the members kept as JSON, and the
// task kept as its text), or from a parsed document (the reference, and the path for bodies the
// event reader does not take).
// Private to intake: source/router/decide_request.cpp and request_fields.cpp.

#include <boost/json/kind.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace beamline::router::detail
{

/// The members intake reads; any other top-level member is ignored.
enum class request_key : unsigned char
{
    request_id,
    tenant_id,
    task,
    version,
    policy_id,
    trace_id,
    run_id,
    flow_id,
    step_id,
    idempotency_key,
    constraints,
    metadata,
    push_assignment,
    assignment_subject,
    options,
};
inline constexpr std::size_t request_key_count = 15;

/// The member `name` names, if intake reads it.
std::optional<request_key> request_key_of(std::string_view name) noexcept;

/// The members kept as JSON values when they are objects; any other kind is only named in a refusal.
/// The task is not among them: routing never looks inside it, so it is kept as text (see task_shape).
inline constexpr bool kept_as_json(request_key k) noexcept
{
    return k == request_key::constraints || k == request_key::metadata || k == request_key::options;
}

/// What intake checks inside a task object: the kinds of its members `type`, `payload` and
/// `payload_ref` (absent and null are both `kind::null`; a later duplicate replaces an earlier one).
struct task_shape
{
    boost::json::kind type = boost::json::kind::null;
    bool type_empty = false; ///< type is the empty string
    boost::json::kind payload = boost::json::kind::null;
    boost::json::kind payload_ref = boost::json::kind::null;

    /// The shape of a parsed task object.
    static task_shape of(const boost::json::object& task) noexcept;
};

/// One member as validation sees it. Absent and JSON `null` are both `kind::null`.
struct request_field
{
    boost::json::kind kind = boost::json::kind::null;
    std::string_view text = {};          ///< kind string: the unescaped text; the task object: its JSON text
    bool boolean = false;                ///< kind bool_
    std::int64_t int64 = 0;              ///< kind int64
    boost::json::value* value = nullptr; ///< kind object, for a member kept as JSON: read or moved out

    bool present() const noexcept { return kind != boost::json::kind::null; }
};

/// The members of one request, and what they point into when no document holds them.
struct request_fields
{
    std::array<request_field, request_key_count> members;
    std::array<boost::json::value, 3> kept; ///< the objects built for constraints, metadata, options
    std::string unescaped;                  ///< the text of strings that held escapes
    task_shape task;                        ///< the task's members, when the task is an object
    std::string task_text;                  ///< a parsed document's task, serialised (the reader views the body)

    request_field& operator[](request_key k) noexcept { return members[static_cast<std::size_t>(k)]; }
    const request_field& operator[](request_key k) const noexcept
    {
        return members[static_cast<std::size_t>(k)];
    }
};

/// Reads the members of a parsed request; `out` points into `root`, which must outlive it, and
/// holds the task's text itself.
void read_fields(boost::json::object& root, request_fields& out);

/// Reads the members straight from the parser's events over `body`, which must outlive `out`.
/// False when `body` is not a well-formed JSON object (with the limits of `boost::json::parse`):
/// the caller then parses it into a document, whose refusal names the cause in the usual words.
bool read_fields(std::string_view body, request_fields& out);

} // namespace beamline::router::detail
