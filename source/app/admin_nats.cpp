#include "beamline/app/admin_nats.hpp"

#include "beamline/app/logging.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>

#include <functional>
#include <map>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

namespace beamline::app
{
namespace
{

namespace json = boost::json;

/// The request body as an object; an empty body is an empty object.
std::optional<json::object> body_object(std::string_view body, admin_reply& error)
{
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object{};
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object())
    {
        error = admin_error(400, "invalid_request", "the request body must be a JSON object");
        return std::nullopt;
    }
    return std::move(v.as_object());
}

/// A string member, or an error naming it.
std::optional<std::string> member(const json::object& o, std::string_view name, admin_reply& error)
{
    if (auto* p = o.if_contains(name); p && p->is_string()) return std::string(p->as_string());
    error = admin_error(400, "invalid_request", "the request body needs \"" + std::string(name) + "\" (a string)");
    return std::nullopt;
}

using op_handler = std::function<admin_reply(const admin_ops&, const json::object&)>;

/// One handler per op; those about one policy read the ids from the body first.
const std::map<std::string, op_handler, std::less<>>& op_table()
{
    auto one_policy = [](auto call) -> op_handler {
        return [call](const admin_ops& ops, const json::object& body) {
            admin_reply error;
            auto tenant = member(body, "tenant_id", error);
            if (!tenant) return error;
            auto policy = member(body, "policy_id", error);
            if (!policy) return error;
            return call(ops, *tenant, *policy, body);
        };
    };
    static const std::map<std::string, op_handler, std::less<>> table{
        {"status", [](const admin_ops& ops, const json::object&) { return ops.status(); }},
        {"policies.list",
         [](const admin_ops& ops, const json::object& body) {
             auto* t = body.if_contains("tenant_id");
             if (t && !t->is_string()) return admin_error(400, "invalid_request", "\"tenant_id\" must be a string");
             return ops.policies_list(t ? std::string_view(t->as_string()) : std::string_view());
         }},
        {"policies.get", one_policy([](const admin_ops& ops, const std::string& t, const std::string& p,
                                       const json::object&) { return ops.policy_get(t, p); })},
        {"policies.delete", one_policy([](const admin_ops& ops, const std::string& t, const std::string& p,
                                          const json::object&) { return ops.policy_delete(t, p); })},
        {"policies.put", one_policy([](const admin_ops& ops, const std::string& t, const std::string& p,
                                       const json::object& body) {
             auto* doc = body.if_contains("policy");
             if (!doc || !doc->is_object())
                 return admin_error(400, "invalid_request", "the request body needs \"policy\" (the policy object)");
             return ops.policy_put(t, p, json::serialize(*doc));
         })},
        {"policies.reload", [](const admin_ops& ops, const json::object&) { return ops.policies_reload(); }},
        {"backpressure.status", [](const admin_ops& ops, const json::object&) { return ops.backpressure_status(); }},
        {"backpressure.reset", [](const admin_ops& ops, const json::object&) { return ops.backpressure_reset(); }},
        {"breakers.list",
         [](const admin_ops& ops, const json::object& body) {
             const auto* t = body.if_contains("tenant");
             if (t && !t->is_string()) return admin_error(400, "invalid_request", "\"tenant\" must be a string");
             return ops.breakers_list(t ? std::string_view(t->as_string()) : std::string_view());
         }},
        {"breakers.reset", [](const admin_ops& ops, const json::object& body) { return ops.breakers_reset(body); }},
    };
    return table;
}

} // namespace

admin_reply run_admin_op(const admin_ops& ops, std::string_view op, std::string_view body)
{
    const auto& table = op_table();
    auto it = table.find(op);
    if (it == table.end())
    {
        std::string known;
        for (const auto& [name, _] : table)
            known += (known.empty() ? "" : ", ") + name;
        return admin_error(404, "unknown_operation",
                           "no admin operation \"" + std::string(op) + "\" (operations: " + known + ")");
    }
    admin_reply error;
    auto object = body_object(body, error);
    if (!object) return error;
    return it->second(ops, *object);
}

asio::awaitable<admin_reply> run_admin_op_async(const admin_ops& ops, std::string op, std::string body)
{
    const bool one_policy = op == "policies.get" || op == "policies.put" || op == "policies.delete";
    if (!ops.shared_policies() || !one_policy) co_return run_admin_op(ops, op, body);
    admin_reply error;
    auto object = body_object(body, error);
    if (!object) co_return error;
    auto tenant = member(*object, "tenant_id", error);
    if (!tenant) co_return error;
    auto policy = member(*object, "policy_id", error);
    if (!policy) co_return error;
    if (op == "policies.get") co_return co_await ops.policy_get_async(*tenant, *policy);
    if (op == "policies.delete") co_return co_await ops.policy_delete_async(*tenant, *policy);
    auto* doc = object->if_contains("policy");
    if (!doc || !doc->is_object())
        co_return admin_error(400, "invalid_request", "the request body needs \"policy\" (the policy object)");
    co_return co_await ops.policy_put_async(*tenant, *policy, json::serialize(*doc));
}

namespace
{

// A named coroutine holding its own copy of the message: the callback's reference is gone by the
// time a KV round trip comes back.
asio::awaitable<void> answer_admin(const admin_nats* self, const admin_ops* ops, nats::message m, std::string op)
{
    admin_reply r;
    try
    {
        r = co_await run_admin_op_async(*ops, op, std::string(m.payload()));
    }
    catch (const std::exception& e)
    {
        log::error("admin operation failed", {{"op", op}, {"error", e.what()}});
        r = admin_error(500, "internal", "the admin operation failed; the router logged why");
    }
    self->send_reply(m, r);
}

} // namespace

admin_reply backpressure_status_request(const admin_ops& ops, std::string_view body, std::string_view decide_subject)
{
    admin_reply error;
    auto object = body_object(body, error);
    if (!object) return error;
    if (auto* s = object->if_contains("subject"))
        if (!s->is_string() || s->as_string() != decide_subject)
            return admin_error(404, "unknown_subject",
                               "this router reports backpressure for " + std::string(decide_subject) +
                                   " only (its decide subject)");
    return ops.backpressure_status();
}

admin_nats::admin_nats(router_service& service, const config& cfg) : service_(service), cfg_(cfg), ops_(service) {}

std::error_code admin_nats::start()
{
    auto& client = service_.nats();
    nats::subscribe_options admin;
    admin.queue = std::string(admin_queue_group);
    if (auto ec = client.subscribe(cfg_.router.admin_subject_prefix + ">", admin,
                                   [this](nats::message m) { on_admin(m); }, admin_sub_))
        return ec;
    nats::subscribe_options status;
    status.queue = cfg_.router.queue_group;
    return client.subscribe(cfg_.router.status_subject, status, [this](nats::message m) { on_status(m); },
                            status_sub_);
}

void admin_nats::send_reply(const nats::message& m, const admin_reply& r) const
{
    reply(m, r);
}

void admin_nats::reply(const nats::message& m, const admin_reply& r) const
{
    if (m.reply().empty()) return; // a publish, not a request: there is nobody to answer
    if (auto ec = service_.nats().publish(m.reply(), r.body))
        log::warn("cannot send an admin reply", {{"subject", m.subject()}, {"error", ec.message()}});
}

void admin_nats::on_admin(const nats::message& m) const
{
    const auto op = m.subject().substr(std::min(m.subject().size(), cfg_.router.admin_subject_prefix.size()));
    try
    {
        if (auto refusal = check_admin_token(m.header("Authorization"), cfg_.http.admin_token))
        {
            log::warn("admin request refused", {{"op", op}, {"reason", "unauthorized"}});
            return reply(m, *refusal);
        }
        if (ops_.shared_policies())
            return asio::co_spawn(service_.executor(), answer_admin(this, &ops_, m, std::string(op)),
                                  asio::detached);
        reply(m, run_admin_op(ops_, op, m.payload()));
    }
    catch (const std::exception& e)
    {
        log::error("admin operation failed", {{"op", op}, {"error", e.what()}});
        reply(m, admin_error(500, "internal", "the admin operation failed; the router logged why"));
    }
}

void admin_nats::on_status(const nats::message& m) const
{
    try
    {
        reply(m, backpressure_status_request(ops_, m.payload(), cfg_.router.decide_subject));
    }
    catch (const std::exception& e)
    {
        log::error("backpressure status request failed", {{"error", e.what()}});
        reply(m, admin_error(500, "internal", "the status request failed; the router logged why"));
    }
}

} // namespace beamline::app
