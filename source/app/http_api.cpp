#include "beamline/app/http_api.hpp"

#include "beamline/app/logging.hpp"
#include "beamline/http/auth.hpp"
#include "beamline/http/metrics_endpoint.hpp"
#include "beamline/router/policy.hpp"

#include <boost/json.hpp>

#include <fstream>
#include <sstream>

namespace beamline::app
{
namespace
{

namespace json = boost::json;
using http::status;
using http::verb;

http::response health_response(const service_health& h, bool count_draining)
{
    bool ok = h.nats_connected && h.subscribed && h.policies_loaded && (!count_draining || !h.draining);
    json::object body{{"status", ok ? "ok" : "unavailable"},
                      {"nats", h.nats_connected ? "connected" : "disconnected"},
                      {"subscribed", h.subscribed},
                      {"policies_loaded", h.policies_loaded},
                      {"draining", h.draining}};
    if (!ok) body["reason"] = h.reason.empty() ? "draining" : h.reason;
    return http::json_response(ok ? status::ok : status::service_unavailable, json::serialize(body));
}

json::object report_json(const router::load_report& r)
{
    json::array problems;
    for (const auto& p : r.problems)
        problems.push_back(json::object{{"path", p.path.string()}, {"reason", p.reason}});
    json::array removed;
    for (const auto& x : r.removed)
        removed.push_back(json::string(x));
    return json::object{{"loaded", r.loaded}, {"problems", std::move(problems)}, {"removed", std::move(removed)}};
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

    routes.add(verb::get, "/v1/policies", auth.protect([svc](const http::request& req) {
        json::array items;
        auto tenant = req.query_param("tenant");
        for (const auto& p : svc->policies().list(tenant ? *tenant : std::string()))
            items.push_back(json::object{{"tenant_id", p.tenant_id}, {"policy_id", p.policy_id}, {"version", p.version}});
        return http::json_response(status::ok, json::serialize(json::object{{"policies", std::move(items)}}));
    }));
    routes.add(verb::get, "/v1/policies/{tenant}/{policy}", auth.protect([svc](const http::request& req) {
        auto tenant = std::string(req.param("tenant"));
        auto policy = std::string(req.param("policy"));
        if (!router::is_valid_store_id(tenant) || !router::is_valid_store_id(policy))
            return http::error_response(status::bad_request, "invalid_id",
                                        "tenant and policy ids are [A-Za-z0-9_.-]{1,64}");
        if (!svc->policies().get(tenant, policy))
            return http::error_response(status::not_found, "policy_not_found",
                                        "no policy \"" + policy + "\" for tenant " + tenant);
        std::ifstream in(svc->policies().directory() / tenant / (policy + ".json"));
        std::stringstream text;
        text << in.rdbuf();
        return http::json_response(status::ok, text.str());
    }));
    routes.add(verb::put, "/v1/policies/{tenant}/{policy}", auth.protect([svc](const http::request& req) {
        auto tenant = std::string(req.param("tenant"));
        auto policy = std::string(req.param("policy"));
        auto r = svc->policies().put(tenant, policy, req.body);
        if (!r)
            return http::error_response(status::bad_request, "invalid_policy", r.error().message);
        log::info("policy stored", {{"tenant_id", tenant}, {"policy_id", policy}});
        return http::json_response(status::ok, json::serialize(json::object{
                                                   {"tenant_id", tenant}, {"policy_id", policy}, {"version", (*r)->version}}));
    }));
    routes.add(verb::delete_, "/v1/policies/{tenant}/{policy}", auth.protect([svc](const http::request& req) {
        auto tenant = std::string(req.param("tenant"));
        auto policy = std::string(req.param("policy"));
        auto r = svc->policies().remove(tenant, policy);
        if (!r) return http::error_response(status::bad_request, "invalid_id", r.error().message);
        if (!*r)
            return http::error_response(status::not_found, "policy_not_found",
                                        "no policy \"" + policy + "\" for tenant " + tenant);
        log::info("policy removed", {{"tenant_id", tenant}, {"policy_id", policy}});
        return http::json_response(status::ok, R"({"removed":true})");
    }));
    routes.add(verb::post, "/v1/policies/reload", auth.protect([svc](const http::request&) {
        auto report = svc->reload_policies();
        return http::json_response(report.ok() ? status::ok : status::unprocessable_entity,
                                   json::serialize(report_json(report)));
    }));
    return routes;
}

} // namespace beamline::app
