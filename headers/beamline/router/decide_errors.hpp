#pragma once
// Error vocabulary of the decide contract (SPEC §4.3): the reply's `error.code` and, for requests
// refused at intake, its `error.intake_error_code`. The wire strings are part of the v1 contract.

#include <string>
#include <string_view>

namespace beamline::router
{

/// `error.code` of an ErrorResponse.
enum class reply_error
{
    invalid_request,
    unauthorized,
    policy_not_found,
    rate_limited,
    overloaded,
    decision_failed,
    internal,
};

/// `error.intake_error_code`: why intake refused the request.
enum class intake_code
{
    schema_validation_failed,
    version_unsupported,
    correlation_fields_invalid,
    tenant_forbidden,
    idempotency_violation,
};

constexpr std::string_view to_string(reply_error e) noexcept
{
    switch (e)
    {
    case reply_error::invalid_request:
        return "invalid_request";
    case reply_error::unauthorized:
        return "unauthorized";
    case reply_error::policy_not_found:
        return "policy_not_found";
    case reply_error::rate_limited:
        return "rate_limited";
    case reply_error::overloaded:
        return "overloaded";
    case reply_error::decision_failed:
        return "decision_failed";
    case reply_error::internal:
        return "internal";
    }
    return "internal";
}

constexpr std::string_view to_string(intake_code c) noexcept
{
    switch (c)
    {
    case intake_code::schema_validation_failed:
        return "SCHEMA_VALIDATION_FAILED";
    case intake_code::version_unsupported:
        return "VERSION_UNSUPPORTED";
    case intake_code::correlation_fields_invalid:
        return "CORRELATION_FIELDS_INVALID";
    case intake_code::tenant_forbidden:
        return "TENANT_FORBIDDEN";
    case intake_code::idempotency_violation:
        return "IDEMPOTENCY_VIOLATION";
    }
    return "SCHEMA_VALIDATION_FAILED";
}

/// The reply code an intake refusal travels under: a forbidden tenant is `unauthorized`,
/// everything else the caller can fix in the request is `invalid_request`.
constexpr reply_error reply_error_of(intake_code c) noexcept
{
    return c == intake_code::tenant_forbidden ? reply_error::unauthorized : reply_error::invalid_request;
}

/// A request refused at intake. `message` names the field and the rule it broke; `request_id` is
/// the request's id when it could be read and was valid, empty otherwise (then the reply's context
/// omits it rather than inventing one).
struct intake_error
{
    intake_code code = intake_code::schema_validation_failed;
    std::string message;
    std::string request_id;

    reply_error reply_code() const noexcept { return reply_error_of(code); }
};

} // namespace beamline::router
