#pragma once
// Bearer-token protection for the admin endpoints. With no token configured the admin surface is
// off (403, so an operator sees why), rather than open.

#include "beamline/http/message.hpp"
#include "beamline/http/route_table.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace beamline::http
{

/// Compares in time that depends on `expected`'s length only, never on where the inputs differ.
bool constant_time_equal(std::string_view presented, std::string_view expected) noexcept;

/// Why an `Authorization` header value does not carry `Bearer <token>` (nullopt when it does).
/// Shared by the HTTP admin endpoints and the admin requests over NATS. `token` must not be empty.
std::optional<std::string> bearer_problem(std::string_view header, std::string_view token);

class bearer_auth
{
public:
    /// An absent or empty token disables the protected endpoints.
    explicit bearer_auth(std::optional<std::string> token);

    bool enabled() const noexcept { return !token_.empty(); }

    /// nullopt when `req` carries `Authorization: Bearer <token>`; otherwise the response to send:
    /// 403 `admin_disabled` when no token is configured, 401 (with WWW-Authenticate) when the header
    /// is missing, malformed or wrong.
    std::optional<response> check(const request& req) const;

    /// `h` behind check(): the handler runs only for an authorised request.
    http::handler protect(http::handler h) const;
    http::handler protect(sync_handler h) const { return protect(make_handler(std::move(h))); }

private:
    std::string token_;
};

} // namespace beamline::http
