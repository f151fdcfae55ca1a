#include "beamline/app/http_api.hpp"

#include "beamline/app/admin_ops.hpp"
#include "beamline/http/auth.hpp"
#include "beamline/http/metrics_endpoint.hpp"

#include <boost/json.hpp>

#include <memory>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

namespace beamline::app
{
namespace
{

namespace json = boost::json;
using http::status;
using http::verb;

http::response health_response(const service_health& h, bool count_draining)
{
    // Overload is not death: /healthz stays 200 under backpressure, only readiness turns it away.
    bool ok = h.nats_connected && h.subscribed && h.policies_loaded &&
              (!count_draining || (!h.draining && !h.overloaded));
    json::object body{{"status", ok ? "ok" : "unavailable"},
                      {"nats", h.nats_connected ? "connected" : "disconnected"},
                      {"subscribed", h.subscribed},
                      {"policies_loaded", h.policies_loaded},
                      {"draining", h.draining},
                      {"overloaded", h.overloaded}};
    if (!ok) body["reason"] = h.reason.empty() ? "draining" : h.reason;
    return http::json_response(ok ? status::ok : status::service_unavailable, json::serialize(body));
}

http::response from_admin(admin_reply r)
{
    return http::json_response(static_cast<http::status>(r.status), std::move(r.body));
}

// Named coroutines, not lambdas: a lambda coroutine's captures die with the temporary closure.
asio::awaitable<http::response> get_policy(std::shared_ptr<admin_ops> ops, const http::request& req)
{
    co_return from_admin(co_await ops->policy_get_async(std::string(req.param("tenant")), std::string(req.param("policy"))));
}

asio::awaitable<http::response> put_policy(std::shared_ptr<admin_ops> ops, const http::request& req)
{
    co_return from_admin(co_await ops->policy_put_async(std::string(req.param("tenant")), std::string(req.param("policy")),
                                                        std::string(req.body)));
}

asio::awaitable<http::response> delete_policy(std::shared_ptr<admin_ops> ops, const http::request& req)
{
    co_return from_admin(
        co_await ops->policy_delete_async(std::string(req.param("tenant")), std::string(req.param("policy"))));
}

/// `POST /v1/breakers/reset`'s body: a JSON object, or nothing (all).
http::response reset_breakers(const admin_ops& ops, const http::request& req)
{
    std::error_code ec;
    auto body = json::parse(req.body.empty() ? std::string_view("{}") : std::string_view(req.body), ec);
    const auto* o = ec ? nullptr : body.if_object();
    if (!o)
        return from_admin(admin_error(400, "invalid_request",
                                      R"(the body must be a JSON object: {}, {"tenant":T} or {"tenant":T,"provider":P})"));
    return from_admin(ops.breakers_reset(*o));
}

} // namespace

http::route_table make_routes(router_service& service, const metrics::registry& reg,
                              std::optional<std::string> admin_token)
{
    http::route_table routes;
    http::bearer_auth auth(std::move(admin_token));
    auto* svc = &service;

    routes.add(verb::get, "/healthz", [svc](const http::request&) { return health_response(svc->health(), false); });
    routes.add(verb::get, "/readyz", [svc](const http::request&) { return health_response(svc->health(), true); });
    routes.add(verb::get, "/livez", [](const http::request&) {
        return http::json_response(status::ok, R"({"status":"alive"})");
    });
    routes.add(verb::get, "/metrics", http::metrics_handler(reg));
    routes.add(verb::get, "/v1/status", [svc](const http::request&) {
        return http::json_response(status::ok, svc->status_json());
    });

    auto ops = std::make_shared<admin_ops>(service);
    routes.add(verb::get, "/v1/policies", auth.protect([ops](const http::request& req) {
        auto tenant = req.query_param("tenant");
        return from_admin(ops->policies_list(tenant ? *tenant : std::string()));
    }));
    // With router.state=jetstream these are KV round trips: they suspend instead of blocking.
    routes.add(verb::get, "/v1/policies/{tenant}/{policy}",
               auth.protect(http::handler([ops](const http::request& req) { return get_policy(ops, req); })));
    routes.add(verb::put, "/v1/policies/{tenant}/{policy}",
               auth.protect(http::handler([ops](const http::request& req) { return put_policy(ops, req); })));
    routes.add(verb::delete_, "/v1/policies/{tenant}/{policy}",
               auth.protect(http::handler([ops](const http::request& req) { return delete_policy(ops, req); })));
    routes.add(verb::post, "/v1/policies/reload", auth.protect([ops](const http::request&) {
        return from_admin(ops->policies_reload());
    }));
    // Status is public (gateways poll it); a forced reset needs the token.
    routes.add(verb::get, "/v1/backpressure", [ops](const http::request&) { return from_admin(ops->backpressure_status()); });
    routes.add(verb::post, "/v1/backpressure/reset", auth.protect([ops](const http::request&) {
        return from_admin(ops->backpressure_reset());
    }));
    // Like /v1/backpressure: reading is open (monitoring, like /v1/status), changing needs the token.
    routes.add(verb::get, "/v1/breakers", [ops](const http::request& req) {
        auto tenant = req.query_param("tenant");
        return from_admin(ops->breakers_list(tenant ? *tenant : std::string()));
    });
    routes.add(verb::post, "/v1/breakers/reset", auth.protect([ops](const http::request& req) {
        return reset_breakers(*ops, req);
    }));
    return routes;
}

} // namespace beamline::app
