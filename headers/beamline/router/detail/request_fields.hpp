#pragma once
// The DecideRequest's top-level members as intake's validation reads them, one slot per member the
// SPEC names, filled from the parsed document. Private to intake: source/router/decide_request.cpp
// and request_fields.cpp.

#include <boost/json/kind.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
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

/// One member as validation sees it. Absent and JSON `null` are both `kind::null`.
struct request_field
{
    boost::json::kind kind = boost::json::kind::null;
    std::string_view text;               ///< kind string: the unescaped text
    bool boolean = false;                ///< kind bool_
    std::int64_t int64 = 0;              ///< kind int64
    boost::json::value* value = nullptr; ///< kind object: the member, to be read or moved out

    bool present() const noexcept { return kind != boost::json::kind::null; }
};

/// The members of one request.
struct request_fields
{
    std::array<request_field, request_key_count> members;

    request_field& operator[](request_key k) noexcept { return members[static_cast<std::size_t>(k)]; }
    const request_field& operator[](request_key k) const noexcept
    {
        return members[static_cast<std::size_t>(k)];
    }
};

/// Reads the members of a parsed request; `out` points into `root`, which must outlive it.
void read_fields(boost::json::object& root, request_fields& out) noexcept;

} // namespace beamline::router::detail
