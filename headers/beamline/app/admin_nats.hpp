#pragma once
// Admin over NATS (SPEC §13) and the backpressure status subject (SPEC §12).
//
//   <router.admin_subject_prefix><op>   request/reply, queue group beamline-router-admin, header
//                                       `Authorization: Bearer <http.admin_token>`; ops: status,
//                                       policies.list|get|put|delete|reload,
//                                       backpressure.status|reset, breakers.list|reset
//   <router.status_subject>             request/reply, the router's queue group, no token
//
// Bodies: policies.list {"tenant_id"?}; policies.get and policies.delete {"tenant_id","policy_id"};
// policies.put {"tenant_id","policy_id","policy":{...}}; the others take none. Replies are the
// bodies of the matching HTTP endpoints (app/admin_ops); errors {"ok":false,"error":{...}}.

#include "beamline/app/admin_ops.hpp"
#include "beamline/app/config.hpp"
#include "beamline/app/router_service.hpp"
#include "beamline/nats/client.hpp"

#include <string_view>
#include <system_error>

namespace beamline::app
{

inline constexpr std::string_view admin_queue_group = "beamline-router-admin";

/// Runs one admin operation named by `op` (the subject after the prefix) with the request `body`;
/// authorisation is checked by the caller.
admin_reply run_admin_op(const admin_ops& ops, std::string_view op, std::string_view body);
/// The same, suspending for the policy ops that are KV round trips with router.state=jetstream.
boost::asio::awaitable<admin_reply> run_admin_op_async(const admin_ops& ops, std::string op, std::string body);

/// The status subject's reply: the backpressure status, or an error when the body names a decide
/// subject this router does not serve or is not JSON.
admin_reply backpressure_status_request(const admin_ops& ops, std::string_view body, std::string_view decide_subject);

class admin_nats
{
public:
    admin_nats(router_service& service, const config& cfg);

    /// Subscribes to both subjects (re-sent by the client on every reconnect).
    std::error_code start();
    /// Sends `r` to the request's reply subject (from the coroutine that answers a KV-backed op).
    void send_reply(const nats::message& m, const admin_reply& r) const;

private:
    void on_admin(const nats::message& m) const;
    void on_status(const nats::message& m) const;
    void reply(const nats::message& m, const admin_reply& r) const;

    router_service& service_;
    const config& cfg_;
    admin_ops ops_;
    nats::subscription_ptr admin_sub_;
    nats::subscription_ptr status_sub_;
};

} // namespace beamline::app
