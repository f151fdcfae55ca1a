#include "beamline/app/admin_cli.hpp"

#include "beamline/app/http_client.hpp"
#include "beamline/app/policy_import.hpp"
#include "beamline/app/router_service.hpp"
#include "beamline/nats/client.hpp"
#include "beamline/router/policy.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

namespace beamline::app
{
namespace
{

namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::milliseconds;

enum class transport
{
    http,
    nats,
};

/// One admin call, the same on both transports.
struct admin_request
{
    std::string http_method;
    std::string http_target;
    std::string nats_subject; ///< full subject
    std::string body;         ///< HTTP body
    std::string nats_body;    ///< NATS body (ids travel in it instead of the path)
    bool needs_token = true;
};

struct admin_answer
{
    bool answered = false;
    bool ok = false;
    std::string body;
    std::string error; ///< why there was no answer, or the HTTP status line
};

/// Takes `--via http|nats` (or `--via=...`) out of `args`; nullopt on a bad value.
std::optional<transport> take_via(std::vector<std::string>& args, const char* verb)
{
    transport via = transport::http;
    for (std::size_t i = 0; i < args.size(); ++i)
    {
        std::string value;
        if (args[i] == "--via" && i + 1 < args.size()) value = args[i + 1];
        else if (args[i].starts_with("--via=")) value = args[i].substr(6);
        else if (args[i] == "--via")
        {
            std::cerr << verb << ": --via needs http or nats\n";
            return std::nullopt;
        }
        else continue;
        args.erase(args.begin() + static_cast<std::ptrdiff_t>(i), args.begin() + static_cast<std::ptrdiff_t>(i) + (args[i] == "--via" ? 2 : 1));
        if (value == "http") via = transport::http;
        else if (value == "nats") via = transport::nats;
        else
        {
            std::cerr << verb << ": --via takes http or nats, not \"" << value << "\"\n";
            return std::nullopt;
        }
        --i;
    }
    return via;
}

/// True for an {"ok":false,...} body: the NATS transport has no status code to say it failed.
bool is_error_body(const std::string& body)
{
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) return false;
    auto* ok = v.as_object().if_contains("ok");
    return ok && ok->is_bool() && !ok->as_bool();
}

asio::awaitable<admin_answer> nats_call(std::shared_ptr<nats::client> c, std::string subject, std::string body,
                                        std::string token)
{
    admin_answer out;
    if (auto ec = co_await c->connect())
    {
        out.error = "cannot connect to NATS: " + (c->last_error_text().empty() ? ec.message() : c->last_error_text());
        co_return out;
    }
    nats::headers h;
    if (!token.empty()) h.add("Authorization", "Bearer " + token);
    auto [ec, reply] = co_await c->request(subject, body, milliseconds(5000), &h);
    if (ec == nats::errc::no_responders) out.error = "no router answers on " + subject;
    else if (ec) out.error = subject + ": " + ec.message();
    else
    {
        out.answered = true;
        out.body = std::string(reply.payload());
        out.ok = !is_error_body(out.body);
    }
    c->close();
    co_return out;
}

admin_answer call(const config& cfg, transport via, const admin_request& r)
{
    const std::string token = r.needs_token ? cfg.http.admin_token : std::string();
    if (via == transport::http)
    {
        auto reply = http_call(cfg.http.listen.host, cfg.http.listen.port, r.http_method, r.http_target, r.body, token);
        if (reply.status == 0) return {false, false, {}, reply.error};
        return {true, reply.status < 300, reply.body, "HTTP " + std::to_string(reply.status)};
    }
    auto options = client_options_from(cfg);
    options.retry_on_failed_connect = false;
    options.max_reconnect = 1;
    options.name = "beamline_router-cli";
    asio::io_context io;
    auto client = nats::client::create(io.get_executor(), options);
    admin_answer out;
    asio::co_spawn(io, nats_call(client, r.nats_subject, r.nats_body, token),
                   [&](std::exception_ptr e, admin_answer a) {
                       if (e) out.error = "the NATS request failed";
                       else out = std::move(a);
                   });
    io.run();
    return out;
}

int print(const char* verb, const std::string& sub, const admin_answer& a)
{
    if (!a.answered)
    {
        std::cerr << verb << " " << sub << ": " << a.error << "\n";
        return 1;
    }
    if (!a.ok)
    {
        std::cerr << verb << " " << sub << ": " << (a.error.starts_with("HTTP") ? a.error + ": " : "") << a.body << "\n";
        return 1;
    }
    std::cout << a.body << "\n";
    return 0;
}

bool read_whole_file(const std::string& path, std::string& out)
{
    std::ifstream in(path);
    if (!in) return false;
    std::stringstream s;
    s << in.rdbuf();
    out = s.str();
    return true;
}

std::string ids_body(const std::string& tenant, const std::string& policy)
{
    return json::serialize(json::object{{"tenant_id", tenant}, {"policy_id", policy}});
}

} // namespace

int policy_verb(const config& cfg, std::vector<std::string> args)
{
    const char* usage = "usage: beamline_router policy ls [TENANT] | get TENANT POLICY | put TENANT POLICY FILE |"
                        " rm TENANT POLICY | validate FILE  [--via http|nats]\n"
                        "       beamline_router policy import DIR   seeds KV bucket beamline_policies (router.state=jetstream)\n";
    auto via = take_via(args, "policy");
    if (!via) return 2;
    if (args.empty())
    {
        std::cerr << usage;
        return 2;
    }
    const auto& sub = args[0];
    const auto& prefix = cfg.router.admin_subject_prefix;
    if (sub == "import" && args.size() == 2) return policy_import(cfg, args[1]);
    if (sub == "validate" && args.size() == 2)
    {
        std::string text;
        if (!read_whole_file(args[1], text))
        {
            std::cerr << "policy validate: cannot read " << args[1] << "\n";
            return 1;
        }
        auto p = router::parse_policy(text);
        if (!p)
        {
            std::cerr << args[1] << ": " << p.error().message << "\n";
            return 1;
        }
        std::cout << args[1] << ": valid (version " << p->version << ", " << p->providers.size() << " providers)\n";
        return 0;
    }
    admin_request r;
    if (sub == "ls" && args.size() <= 2)
    {
        r = {"GET", "/v1/policies" + (args.size() == 2 ? "?tenant=" + args[1] : std::string()), prefix + "policies.list",
             {}, args.size() == 2 ? json::serialize(json::object{{"tenant_id", args[1]}}) : std::string()};
    }
    else if (sub == "get" && args.size() == 3)
        r = {"GET", "/v1/policies/" + args[1] + "/" + args[2], prefix + "policies.get", {}, ids_body(args[1], args[2])};
    else if (sub == "rm" && args.size() == 3)
        r = {"DELETE", "/v1/policies/" + args[1] + "/" + args[2], prefix + "policies.delete", {},
             ids_body(args[1], args[2])};
    else if (sub == "put" && args.size() == 4)
    {
        std::string text;
        if (!read_whole_file(args[3], text))
        {
            std::cerr << "policy put: cannot read " << args[3] << "\n";
            return 1;
        }
        boost::system::error_code ec;
        auto doc = json::parse(text, ec);
        if (*via == transport::nats && (ec || !doc.is_object()))
        {
            std::cerr << "policy put: " << args[3] << " is not a JSON object\n";
            return 1;
        }
        json::object body{{"tenant_id", args[1]}, {"policy_id", args[2]}};
        if (!ec) body["policy"] = doc;
        r = {"PUT", "/v1/policies/" + args[1] + "/" + args[2], prefix + "policies.put", text, json::serialize(body)};
    }
    else
    {
        std::cerr << usage;
        return 2;
    }
    return print("policy", sub, call(cfg, *via, r));
}

int backpressure_verb(const config& cfg, std::vector<std::string> args)
{
    const char* usage = "usage: beamline_router backpressure status | reset  [--via http|nats]\n";
    auto via = take_via(args, "backpressure");
    if (!via) return 2;
    if (args.size() != 1)
    {
        std::cerr << usage;
        return 2;
    }
    admin_request r;
    if (args[0] == "status")
        r = {"GET", "/v1/backpressure", cfg.router.status_subject, {}, {}, false};
    else if (args[0] == "reset")
        r = {"POST", "/v1/backpressure/reset", cfg.router.admin_subject_prefix + "backpressure.reset", {}, {}};
    else
    {
        std::cerr << usage;
        return 2;
    }
    return print("backpressure", args[0], call(cfg, *via, r));
}

int breakers_verb(const config& cfg, std::vector<std::string> args)
{
    // HTTP only for now: the NATS admin subjects answer breakers.* with not_implemented.
    const char* usage = "usage: beamline_router breakers ls [--tenant TENANT] | reset [TENANT [PROVIDER]]\n";
    admin_request r;
    if (!args.empty() && args[0] == "ls" && (args.size() == 1 || (args.size() == 3 && args[1] == "--tenant")))
        r = {"GET", "/v1/breakers" + (args.size() == 3 ? "?tenant=" + args[2] : std::string()), {}, {}, {}, false};
    else if (!args.empty() && args[0] == "reset" && args.size() <= 3)
    {
        json::object body;
        if (args.size() >= 2) body["tenant"] = args[1];
        if (args.size() == 3) body["provider"] = args[2];
        r = {"POST", "/v1/breakers/reset", {}, json::serialize(body), {}};
    }
    else
    {
        std::cerr << usage;
        return 2;
    }
    return print("breakers", args[0], call(cfg, transport::http, r));
}

} // namespace beamline::app
