// Admin over NATS (beamline.router.v1.admin.<op>) and the backpressure status subject against a
// running daemon on a mutual-TLS nats-server, with libnats as the requester: every op with the
// right token gives the body its HTTP endpoint gives; no token, a wrong token, or a daemon with no
// token configured get `unauthorized`; the CLI reaches the same ops with --via nats.
#include "router_setup.hpp"
#include "shell.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <string>

using namespace beamline::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace
{

const std::string token = "nats-admin-token";
const std::string prefix = "beamline.router.v1.admin.";
const char* openai_only = R"({"version":"1","providers":[{"name":"openai","weight":1}]})";

// Every op the router serves, with a body that is valid for it.
const std::vector<std::pair<std::string, std::string>> all_ops = {
    {"status", ""},
    {"policies.list", ""},
    {"policies.get", R"({"tenant_id":"acme","policy_id":"default"})"},
    {"policies.put", R"({"tenant_id":"acme","policy_id":"extra","policy":{"version":"5","providers":[{"name":"anthropic","weight":1}]}})"},
    {"policies.delete", R"({"tenant_id":"acme","policy_id":"extra"})"},
    {"policies.reload", ""},
    {"backpressure.status", ""},
    {"backpressure.reset", ""},
    {"breakers.list", ""},
    {"breakers.reset", ""},
};

struct admin_fixture : router_setup
{
    explicit admin_fixture(const env_list& env = {{"BEAMLINE_HTTP_ADMIN_TOKEN", token}})
        : router_setup(nats_server_options{.tls = tls_mode::mutual},
                       [](const policy_dir& dir) { dir.write("acme", "default", openai_only); }, env)
    {
    }

    json::object request(const std::string& subject, const std::string& body, const header_list& headers)
    {
        natsStatus failure = NATS_OK;
        auto reply = caller->request(subject, body, 5s, &failure, headers);
        BOOST_TEST_REQUIRE(reply.has_value(), subject << ": no reply: " << natsStatus_GetText(failure));
        BOOST_TEST_INFO(subject << " -> " << reply->data);
        auto v = json::parse(reply->data);
        BOOST_TEST_REQUIRE(v.is_object());
        return v.as_object();
    }
    json::object admin(const std::string& op, const std::string& body = {}, const std::string& presented = token)
    {
        header_list h;
        if (!presented.empty()) h.emplace_back("Authorization", "Bearer " + presented);
        return request(prefix + op, body, h);
    }
    json::object http(const std::string& method, const std::string& target, const std::string& body = {})
    {
        auto r = router->http(method, target, body, token);
        BOOST_TEST_INFO(method << " " << target << " -> " << r.status << " " << r.body);
        auto v = json::parse(r.body);
        BOOST_TEST_REQUIRE(v.is_object());
        return v.as_object();
    }
    // The CLI with the daemon's own NATS settings (URL, CA, client certificate) and HTTP address.
    std::string cli(const std::string& args, const std::string& presented = token) const
    {
        std::string env;
        for (const auto& [k, v] : this->env())
            env += k + "='" + v + "' ";
        return env + "BEAMLINE_HTTP_LISTEN=" + router->http_listen() + " BEAMLINE_HTTP_ADMIN_TOKEN=" + presented +
               " '" + BEAMLINE_BINARY_DIR + "/beamline_router' " + args;
    }
};

bool is_unauthorized(const json::object& reply)
{
    return reply.contains("ok") && reply.at("ok") == false && reply.at("error").at("code") == "unauthorized";
}

// A backpressure status without what moves between two calls: the time in state and the inputs'
// current values (a reply being written counts in pending_bytes).
json::object steady(json::object status)
{
    status.erase("since_ms");
    for (auto& [name, input] : status.at("inputs").as_object())
        input.as_object().erase("value");
    return status;
}

} // namespace

BOOST_AUTO_TEST_SUITE(router_admin_nats)

BOOST_AUTO_TEST_CASE(every_op_answers_as_its_http_endpoint_with_the_token)
{
    admin_fixture f;
    BOOST_TEST(f.admin("policies.list") == f.http("GET", "/v1/policies"));
    BOOST_TEST(f.admin("policies.list", R"({"tenant_id":"nobody"})").at("policies").as_array().empty());
    BOOST_TEST(f.admin("policies.get", R"({"tenant_id":"acme","policy_id":"default"})") ==
               f.http("GET", "/v1/policies/acme/default"));

    auto put = f.admin("policies.put", all_ops[3].second);
    BOOST_TEST(put.at("version") == "5");
    BOOST_TEST(f.http("GET", "/v1/policies/acme/extra").at("version") == "5"); // served over HTTP too
    BOOST_TEST(f.admin("policies.delete", all_ops[4].second).at("removed") == true);
    auto gone = f.admin("policies.get", all_ops[4].second);
    BOOST_TEST(gone.at("error").at("code") == "policy_not_found");
    BOOST_TEST(gone == f.http("GET", "/v1/policies/acme/extra"));

    BOOST_TEST(f.admin("policies.reload") == f.http("POST", "/v1/policies/reload"));
    BOOST_TEST(steady(f.admin("backpressure.status")) == steady(f.http("GET", "/v1/backpressure")));
    auto reset = f.admin("backpressure.reset");
    BOOST_TEST(reset.at("ok") == true);
    BOOST_TEST(reset.at("state") == "inactive");
    BOOST_TEST(reset.at("reactivates") == false);
    auto status = f.admin("status");
    BOOST_TEST(status.at("policies") == f.http("GET", "/v1/status").at("policies"));
    BOOST_TEST(status.at("backpressure").at("state") == "inactive");

    // Breakers: the same bodies as GET /v1/breakers and POST /v1/breakers/reset.
    BOOST_TEST(json::serialize(f.admin("breakers.list")) == json::serialize(f.http("GET", "/v1/breakers")));
    BOOST_TEST(f.admin("breakers.reset", R"({"tenant":"acme"})").at("reset") == 0);
    BOOST_TEST(f.admin("breakers.reset", R"({"provider":"openai"})").at("error").at("code") == "invalid_request");
    // Bad requests get a clear error, not silence.
    BOOST_TEST(f.admin("policies.get", "not json").at("error").at("code") == "invalid_request");
    BOOST_TEST(f.admin("policies.get", R"({"tenant_id":"acme"})").at("error").at("code") == "invalid_request");
    BOOST_TEST(f.admin("policies.put", R"({"tenant_id":"acme","policy_id":"x","policy":{"version":"1"}})")
                   .at("error").at("code") == "invalid_policy");
    BOOST_TEST(f.admin("no.such.op").at("error").at("code") == "unknown_operation");
}

BOOST_AUTO_TEST_CASE(no_token_or_a_wrong_token_is_unauthorized_for_every_op)
{
    admin_fixture f;
    for (const auto& [op, body] : all_ops)
    {
        BOOST_TEST_CONTEXT(op)
        {
            BOOST_TEST(is_unauthorized(f.admin(op, body, "")));
            BOOST_TEST(is_unauthorized(f.admin(op, body, "wrong-token")));
            BOOST_TEST(is_unauthorized(f.request(prefix + op, body, {{"Authorization", token}}))); // no Bearer
        }
    }
    // Nothing was changed by the refused requests.
    BOOST_TEST(f.http("GET", "/v1/policies").at("policies").as_array().size() == 1u);
}

BOOST_AUTO_TEST_CASE(with_no_token_configured_every_op_is_refused)
{
    admin_fixture f(env_list{});
    for (const auto& [op, body] : all_ops)
    {
        BOOST_TEST_CONTEXT(op)
        {
            auto r = f.admin(op, body, token);
            BOOST_TEST(is_unauthorized(r));
            BOOST_TEST(std::string(r.at("error").at("message").as_string()).find("no admin token") != std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(status_subject_answers_without_a_token)
{
    admin_fixture f;
    auto s = f.request("beamline.router.v1.status.backpressure", "", {});
    BOOST_TEST(s.at("state") == "inactive");
    for (const char* key : {"since_ms", "retry_after_ms", "activations", "inputs"})
        BOOST_TEST(s.contains(key), key);
    BOOST_TEST(s.at("inputs").as_object().contains("inflight"));
    BOOST_TEST(!s.at("inputs").as_object().contains("consumer_pending")); // no results consumer yet
    BOOST_TEST(f.request("beamline.router.v1.status.backpressure", R"({"subject":"beamline.router.v1.decide"})", {})
                   .at("state") == "inactive");
    BOOST_TEST(f.request("beamline.router.v1.status.backpressure", R"({"subject":"other.decide"})", {})
                   .at("error").at("code") == "unknown_subject");
}

BOOST_AUTO_TEST_CASE(cli_reaches_the_same_ops_via_nats_and_via_http)
{
    admin_fixture f;
    for (const char* via : {"nats", "http"})
    {
        BOOST_TEST_CONTEXT(via)
        {
            auto ls = run_shell(f.cli("policy ls --via " + std::string(via)));
            BOOST_TEST(ls.exit_code == 0, ls.output);
            BOOST_TEST(ls.output.find("\"policy_id\":\"default\"") != std::string::npos, ls.output);

            auto status = run_shell(f.cli("backpressure status --via " + std::string(via)));
            BOOST_TEST(status.exit_code == 0, status.output);
            BOOST_TEST(status.output.find("\"state\":\"inactive\"") != std::string::npos, status.output);

            auto reset = run_shell(f.cli("backpressure reset --via=" + std::string(via)));
            BOOST_TEST(reset.exit_code == 0, reset.output);
            BOOST_TEST(reset.output.find("\"reactivates\":false") != std::string::npos, reset.output);

            auto missing = run_shell(f.cli("policy get acme nope --via " + std::string(via)));
            BOOST_TEST(missing.exit_code == 1, missing.output);
            BOOST_TEST(missing.output.find("policy_not_found") != std::string::npos, missing.output);
        }
    }
    const auto file = f.policies.path() / "to-put.json";
    std::ofstream(file) << R"({"version":"9","providers":[{"name":"openai","weight":1}]})";
    auto put = run_shell(f.cli("policy put acme viacli " + file.string() + " --via nats"));
    BOOST_TEST(put.exit_code == 0, put.output);
    BOOST_TEST(f.http("GET", "/v1/policies/acme/viacli").at("version") == "9");
    auto rm = run_shell(f.cli("policy rm acme viacli --via nats"));
    BOOST_TEST(rm.exit_code == 0, rm.output);

    auto bad = run_shell(f.cli("backpressure status --via carrier-pigeon"));
    BOOST_TEST(bad.exit_code == 2, bad.output);
    auto refused = run_shell(f.cli("backpressure reset --via nats", "wrong"));
    BOOST_TEST(refused.exit_code == 1, refused.output);
    BOOST_TEST(refused.output.find("unauthorized") != std::string::npos, refused.output);
}

BOOST_AUTO_TEST_SUITE_END()
