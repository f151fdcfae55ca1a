#pragma once
// How the load generator classifies a decide reply: accepted (a decision), refused for overload
// (the router's backpressure shedding: SPEC §12), or any other error. Overload refusals are told
// apart because an overload run judges the accepted requests' latency on its own: a refusal is
// answered in microseconds and would flatter the percentiles, a timeout would not be a reply.

#include <string_view>

namespace beamline::perf
{

enum class ReplyKind
{
    ok,
    overloaded,
    other_error,
};

inline constexpr std::string_view kOkPrefix = R"({"ok":true)";
inline constexpr std::string_view kErrorPrefix = R"({"ok":false)";
// The ErrorResponse's code member (router/decide_reply: {"ok":false,"error":{"code":"...").
// JSON escapes every quote inside a string, so these bytes can only be a member, never text.
inline constexpr std::string_view kOverloadedCode = R"("code":"overloaded")";

/// `check_ok` false (a responder that is not the router, e.g. the echo): anything but an overload
/// refusal counts as accepted, as before the classification existed.
constexpr ReplyKind classify_reply(std::string_view data, bool check_ok) noexcept
{
    if (data.starts_with(kOkPrefix)) return ReplyKind::ok;
    if (data.starts_with(kErrorPrefix) && data.find(kOverloadedCode) != std::string_view::npos)
        return ReplyKind::overloaded;
    return check_ok ? ReplyKind::other_error : ReplyKind::ok;
}

} // namespace beamline::perf
