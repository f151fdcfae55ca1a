#include "beamline/app/admin_ops.hpp"

#include "beamline/router/decide_json.hpp"

#include "beamline/app/backpressure_gate.hpp"
#include "beamline/app/kv_policy_source.hpp"
#include "beamline/app/logging.hpp"
#include "beamline/http/auth.hpp"
#include "beamline/router/policy.hpp"
#include "beamline/router/shared_state.hpp"

#include <boost/json.hpp>

#include <fstream>
#include <sstream>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

namespace beamline::app
{
namespace
{

namespace json = boost::json;

admin_reply ok(json::object body, int status = 200)
{
    // Not json::serialize: it copies invalid UTF-8 from a request (a tenant id in the path) into
    // the body as it is, and the reply is then not JSON. This writer replaces such bytes.
    std::string out;
    router::append_json_value(out, body);
    return {status, std::move(out)};
}

std::optional<admin_reply> bad_ids(std::string_view tenant, std::string_view policy)
{
    if (router::is_valid_store_id(tenant) && router::is_valid_store_id(policy)) return std::nullopt;
    return admin_error(400, "invalid_id", "tenant and policy ids are [A-Za-z0-9_.-]{1,64}");
}

admin_reply no_policy(std::string_view tenant, std::string_view policy)
{
    return admin_error(404, "policy_not_found",
                       "no policy \"" + std::string(policy) + "\" for tenant " + std::string(tenant));
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

json::object breaker_json(const router::breaker_status_table::row& r)
{
    return json::object{{"tenant", r.tenant},
                        {"provider", r.provider},
                        {"state", router::to_string(r.state.state)},
                        {"window_requests", r.state.window_requests},
                        {"window_failures", r.state.window_failures},
                        {"consecutive_failures", r.state.consecutive_failures},
                        {"half_open_calls", r.state.half_open_calls},
                        {"open_remaining_ms", r.state.open_remaining.count()}};
}

} // namespace

admin_reply admin_error(int status, std::string_view code, std::string_view message)
{
    return ok(json::object{{"ok", false}, {"error", {{"code", code}, {"message", message}}}}, status);
}

std::optional<admin_reply> check_admin_token(std::optional<std::string_view> authorization, std::string_view token)
{
    if (token.empty())
        return admin_error(401, "unauthorized",
                           "admin operations are disabled: no admin token is configured (http.admin_token)");
    if (!authorization || authorization->empty())
        return admin_error(401, "unauthorized", "missing Authorization: Bearer <token> header");
    if (auto why = http::bearer_problem(*authorization, token)) return admin_error(401, "unauthorized", *why);
    return std::nullopt;
}

admin_reply admin_ops::status() const
{
    return {200, svc_.status_json()};
}

admin_reply admin_ops::policies_list(std::string_view tenant) const
{
    json::array items;
    for (const auto& p : svc_.policies().list(tenant))
        items.push_back(json::object{{"tenant_id", p.tenant_id}, {"policy_id", p.policy_id}, {"version", p.version}});
    return ok(json::object{{"policies", std::move(items)}});
}

admin_reply admin_ops::policy_get(std::string_view tenant, std::string_view policy) const
{
    if (auto bad = bad_ids(tenant, policy)) return *bad;
    if (!svc_.policies().get(tenant, policy)) return no_policy(tenant, policy);
    std::ifstream in(svc_.policies().directory() / std::string(tenant) / (std::string(policy) + ".json"));
    std::stringstream text;
    text << in.rdbuf();
    return {200, text.str()};
}

admin_reply admin_ops::policy_put(std::string_view tenant, std::string_view policy, std::string_view text) const
{
    auto r = svc_.policies().put(tenant, policy, text);
    if (!r) return admin_error(400, "invalid_policy", r.error().message);
    log::info("policy stored", {{"tenant_id", tenant}, {"policy_id", policy}});
    return ok(json::object{{"tenant_id", tenant}, {"policy_id", policy}, {"version", (*r)->version}});
}

admin_reply admin_ops::policy_delete(std::string_view tenant, std::string_view policy) const
{
    auto r = svc_.policies().remove(tenant, policy);
    if (!r) return admin_error(400, "invalid_id", r.error().message);
    if (!*r) return no_policy(tenant, policy);
    log::info("policy removed", {{"tenant_id", tenant}, {"policy_id", policy}});
    return ok(json::object{{"removed", true}});
}

asio::awaitable<admin_reply> admin_ops::policy_get_async(std::string tenant, std::string policy) const
{
    auto* shared = svc_.shared_policies();
    if (!shared) co_return policy_get(tenant, policy);
    if (auto bad = bad_ids(tenant, policy)) co_return *bad;
    auto r = co_await shared->get(tenant, policy);
    if (!r) co_return admin_error(503, "unavailable", r.error().message);
    if (!*r) co_return no_policy(tenant, policy);
    admin_reply found;
    found.body = std::move(**r);
    co_return found;
}

asio::awaitable<admin_reply> admin_ops::policy_put_async(std::string tenant, std::string policy, std::string text) const
{
    auto* shared = svc_.shared_policies();
    if (!shared) co_return policy_put(tenant, policy, text);
    if (auto bad = bad_ids(tenant, policy)) co_return *bad;
    // Refused before any round trip: what cannot be served is never stored.
    auto parsed = router::parse_policy(text, policy);
    if (!parsed) co_return admin_error(400, "invalid_policy", parsed.error().message);
    if (!router::policy_record_key(tenant, policy))
        co_return admin_error(400, "invalid_id", "with router.state=jetstream a tenant id holds no dot "
                                                 "(the KV key is <tenant>.<policy>)");
    auto r = co_await shared->put(tenant, policy, text);
    if (!r) co_return admin_error(503, "unavailable", r.error().message);
    log::info("policy stored in KV", {{"tenant_id", tenant}, {"policy_id", policy}, {"bucket", policies_bucket}});
    co_return ok(json::object{{"tenant_id", tenant}, {"policy_id", policy}, {"version", (*r)->version}});
}

asio::awaitable<admin_reply> admin_ops::policy_delete_async(std::string tenant, std::string policy) const
{
    auto* shared = svc_.shared_policies();
    if (!shared) co_return policy_delete(tenant, policy);
    if (auto bad = bad_ids(tenant, policy)) co_return *bad;
    auto r = co_await shared->remove(tenant, policy);
    if (!r) co_return admin_error(503, "unavailable", r.error().message);
    if (!*r) co_return no_policy(tenant, policy);
    log::info("policy removed from KV", {{"tenant_id", tenant}, {"policy_id", policy}, {"bucket", policies_bucket}});
    co_return ok(json::object{{"removed", true}});
}

admin_reply admin_ops::policies_reload() const
{
    auto report = svc_.reload_policies();
    return ok(report_json(report), report.ok() ? 200 : 422);
}

admin_reply admin_ops::backpressure_status() const
{
    return ok(to_json(svc_.backpressure().status()));
}

admin_reply admin_ops::backpressure_reset() const
{
    auto [outcome, status] = svc_.backpressure().reset();
    json::array still_over;
    std::string over_names;
    for (auto i : outcome.still_over)
    {
        still_over.push_back(json::string(router::to_string(i)));
        over_names += (over_names.empty() ? "" : ", ") + std::string(router::to_string(i));
    }
    std::string message =
        outcome.reactivates
            ? "forced to inactive, but the next evaluation will raise it again: " + over_names +
                  " still above the high mark"
            : (outcome.still_over.empty()
                   ? std::string("forced to inactive; no input is above its high mark")
                   : "forced to inactive; " + over_names +
                         " above the high mark, so it may be raised again after activate_after_ms");
    return ok(json::object{{"ok", true},
                           {"previous_state", std::string(router::to_string(outcome.previous))},
                           {"state", std::string(router::to_string(status.state))},
                           {"still_over", std::move(still_over)},
                           {"reactivates", outcome.reactivates},
                           {"message", std::move(message)},
                           {"status", to_json(status)}});
}

admin_reply admin_ops::breakers_list(std::string_view tenant) const
{
    json::array items;
    for (const auto& r : svc_.pipeline().breakers().list(tenant, std::chrono::steady_clock::now()))
        items.push_back(breaker_json(r));
    return ok(json::object{{"breakers", std::move(items)}});
}

admin_reply admin_ops::breakers_reset(const json::object& request) const
{
    auto text = [&](std::string_view key, std::string& out) -> bool {
        const auto* v = request.if_contains(key);
        if (!v) return true;
        const auto* str = v->if_string();
        if (!str || str->empty() || str->size() > 128) return false;
        out.assign(str->data(), str->size());
        return true;
    };
    std::string tenant, provider;
    if (!text("tenant", tenant) || !text("provider", provider))
        return admin_error(400, "invalid_request", "tenant and provider must be non-empty strings of at most 128 bytes");
    if (!provider.empty() && tenant.empty()) return admin_error(400, "invalid_request", "a provider needs its tenant");
    auto count = svc_.pipeline().reset_breakers(tenant, provider);
    log::info("circuit breakers reset", {{"tenant_id", tenant}, {"provider_id", provider}, {"count", count}});
    return ok(json::object{{"reset", count}});
}

} // namespace beamline::app
