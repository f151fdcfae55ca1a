#pragma once
// The admin operations, independent of the transport: HTTP (app/http_api) and NATS
// (app/admin_nats) both parse their request into these calls and send back the reply as is, so
// the two surfaces answer with the same bodies (SPEC §13). Authorisation is the transport's job.
//
// Errors are {"ok":false,"error":{"code","message"}} with the HTTP status that goes with them.

#include "beamline/app/router_service.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace beamline::app
{

struct admin_reply
{
    int status = 200; ///< HTTP status; NATS sends only the body
    std::string body;
};

admin_reply admin_error(int status, std::string_view code, std::string_view message);

/// Checks an `Authorization` header value against the configured token: nullopt when it is
/// `Bearer <token>`, else the `unauthorized` reply to send. An empty `token` refuses everything.
std::optional<admin_reply> check_admin_token(std::optional<std::string_view> authorization, std::string_view token);

class admin_ops
{
public:
    explicit admin_ops(router_service& service) : svc_(service) {}

    admin_reply status() const;
    admin_reply policies_list(std::string_view tenant) const;
    admin_reply policy_get(std::string_view tenant, std::string_view policy) const;
    admin_reply policy_put(std::string_view tenant, std::string_view policy, std::string_view json) const;
    admin_reply policy_delete(std::string_view tenant, std::string_view policy) const;
    admin_reply policies_reload() const;

    /// router.state=jetstream: policies are read from and written to KV, a round trip, so these
    /// suspend (on the client's executor) instead of blocking. With router.state=local they are
    /// the synchronous calls above.
    bool shared_policies() const noexcept { return svc_.shared_policies() != nullptr; }
    boost::asio::awaitable<admin_reply> policy_get_async(std::string tenant, std::string policy) const;
    boost::asio::awaitable<admin_reply> policy_put_async(std::string tenant, std::string policy, std::string json) const;
    boost::asio::awaitable<admin_reply> policy_delete_async(std::string tenant, std::string policy) const;
    admin_reply backpressure_status() const;
    admin_reply backpressure_reset() const;
    /// `{"breakers":[...]}`, one tenant's (`tenant` set) or all.
    admin_reply breakers_list(std::string_view tenant) const;
    /// `{}` all, `{"tenant":T}` a tenant's, `{"tenant":T,"provider":P}` one; `{"reset":N}`.
    admin_reply breakers_reset(const boost::json::object& request) const;

private:
    router_service& svc_;
};

} // namespace beamline::app
