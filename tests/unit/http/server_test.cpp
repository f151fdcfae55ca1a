#include "beamline/http/auth.hpp"
#include "beamline/http/server.hpp"
#include "http_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

using namespace beamline::http;
using beamline::http::test::http_client;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

namespace
{

/// A server on 127.0.0.1 with an ephemeral port, driven by two threads so strands matter.
struct running_server
{
    running_server(route_table routes, server_options options = {})
    {
        options.listen = "127.0.0.1:0";
        srv.emplace(ioc.get_executor(), std::move(routes), options,
                    [this](std::string_view level, std::string_view msg)
                    {
                        std::lock_guard lock(log_mutex);
                        log.push_back(std::string(level) + ": " + std::string(msg));
                    });
        const auto error = srv->start();
        BOOST_REQUIRE_MESSAGE(error.empty(), error);
        for (int i = 0; i < 2; ++i)
            threads.emplace_back([this] { ioc.run(); });
    }

    ~running_server()
    {
        if (!stopped) stop(1s);
        srv.reset();
        ioc.stop();
        for (auto& t : threads)
            t.join();
    }

    void stop(std::chrono::milliseconds grace) { stop_async(grace).get(); }

    std::future<void> stop_async(std::chrono::milliseconds grace)
    {
        stopped = true;
        return asio::co_spawn(ioc, srv->stop(grace), asio::use_future);
    }

    asio::ip::tcp::endpoint endpoint() const { return srv->local_endpoint(); }

    std::vector<std::string> log_lines()
    {
        std::lock_guard lock(log_mutex);
        return log;
    }

    asio::io_context ioc;
    std::optional<server> srv;
    std::vector<std::thread> threads;
    std::mutex log_mutex;
    std::vector<std::string> log;
    bool stopped = false;
};

/// Another event loop on its own thread, standing in for the rest of the daemon (tenant strands).
struct side_context
{
    side_context() : thread([this] { ioc.run(); }) {}
    ~side_context()
    {
        guard.reset();
        ioc.stop();
        if (thread.joinable()) thread.join();
    }

    /// Lets the work handed to this context run out and joins its thread. A handler that hopped
    /// here goes back to the server's strand from this thread, after the client already has its
    /// answer: call it before the server (and its io_context, which that way back touches) goes.
    void finish()
    {
        guard.reset();
        if (thread.joinable()) thread.join();
    }

    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(ioc);
    std::thread thread;
};

/// A handler that parks on another context until the test releases it, as a handler waiting on
/// work elsewhere would.
struct gated_handler
{
    beamline::http::handler make(std::string body)
    {
        return [this, body](const request&) -> asio::awaitable<response>
        {
            entered.set_value();
            co_await asio::co_spawn(
                side.ioc,
                [this]() -> asio::awaitable<void>
                {
                    if (released) co_return;
                    boost::system::error_code ec;
                    co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                },
                asio::use_awaitable);
            co_return json_response(status::ok, body);
        };
    }
    /// Blocks until a request has reached the handler.
    void wait_entered() { entered.get_future().wait(); }
    void release()
    {
        asio::post(side.ioc,
                   [this]
                   {
                       released = true;
                       gate.cancel();
                   });
    }

    std::promise<void> entered;
    side_context side;
    asio::steady_timer gate{side.ioc, asio::steady_timer::time_point::max()};
    bool released = false; // touched only on side's thread, like the timer
};

/// Polls the server's connection count until it is `expected`, for at most 10 s (a bound, not a
/// timing claim: the count follows the accept strand, which runs on the server's own threads).
bool wait_for_connection_count(const server& srv, std::size_t expected)
{
    const auto limit = std::chrono::steady_clock::now() + 10s;
    while (srv.connection_count() != expected)
    {
        if (std::chrono::steady_clock::now() > limit) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

std::string error_code_of(const test::client_response& res)
{
    return std::string(boost::json::parse(res.body()).at("error").at("code").as_string());
}

response echo_params(const request& req)
{
    boost::json::object params;
    for (const auto& [name, value] : req.params)
        params[name] = value;
    return json_response(status::ok, boost::json::serialize(params));
}

} // namespace

BOOST_AUTO_TEST_SUITE(http_server)

BOOST_AUTO_TEST_CASE(serves_route_parameters_on_an_ephemeral_port)
{
    route_table routes;
    routes.add(verb::get, "/v1/policies/{tenant}/{policy}", echo_params);
    running_server s(std::move(routes));
    BOOST_TEST(s.endpoint().port() != 0);

    http_client c(s.endpoint());
    auto res = c.request(verb::get, "/v1/policies/acme/fast%2Dlane?x=1");
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res[bhttp::field::content_type] == "application/json");
    BOOST_TEST(res.body() == R"({"tenant":"acme","policy":"fast-lane"})");
}

BOOST_AUTO_TEST_CASE(unknown_paths_and_wrong_methods_get_json_errors)
{
    route_table routes;
    routes.add(verb::get, "/healthz",
               [](const request&) { return json_response(status::ok, R"({"status":"ok"})"); });
    running_server s(std::move(routes));
    http_client c(s.endpoint());

    auto missing = c.request(verb::get, "/nope");
    BOOST_TEST(missing.result_int() == 404);
    BOOST_TEST(error_code_of(missing) == "not_found");

    auto wrong = c.request(verb::delete_, "/healthz");
    BOOST_TEST(wrong.result_int() == 405);
    BOOST_TEST(wrong[bhttp::field::allow] == "GET, HEAD");
    BOOST_TEST(error_code_of(wrong) == "method_not_allowed");

    auto head = c.request(verb::head, "/healthz");
    BOOST_TEST(head.result_int() == 200);
    BOOST_TEST(head.body().empty());
    BOOST_TEST(head[bhttp::field::content_length] == "15");                      // the size GET would send
    BOOST_TEST(c.request(verb::get, "/healthz").body() == R"({"status":"ok"})"); // connection still in step
}

BOOST_AUTO_TEST_CASE(keep_alive_serves_several_requests_on_one_connection)
{
    route_table routes;
    std::atomic<int> served{0};
    routes.add(verb::post, "/echo",
               [&](const request& req)
               {
                   ++served;
                   return text_response(status::ok, std::string(req.body));
               });
    running_server s(std::move(routes));
    http_client c(s.endpoint());
    for (int i = 0; i < 5; ++i)
    {
        auto res = c.request(verb::post, "/echo", "message " + std::to_string(i));
        BOOST_TEST(res.result_int() == 200);
        BOOST_TEST(res.keep_alive());
        BOOST_TEST(res.body() == "message " + std::to_string(i));
    }
    BOOST_TEST(served.load() == 5);
    BOOST_TEST(s.srv->connection_count() == 1u);
}

BOOST_AUTO_TEST_CASE(body_over_the_limit_gets_413_and_the_connection_closes)
{
    route_table routes;
    routes.add(verb::post, "/echo",
               [](const request& req) { return text_response(status::ok, std::string(req.body)); });
    server_options options;
    options.body_limit = 1024;
    running_server s(std::move(routes), options);

    http_client small(s.endpoint());
    BOOST_TEST(small.request(verb::post, "/echo", std::string(1024, 'a')).result_int() == 200);

    http_client c(s.endpoint());
    auto res = c.request(verb::post, "/echo", std::string(64 * 1024, 'b'));
    BOOST_TEST(res.result_int() == 413);
    BOOST_TEST(error_code_of(res) == "payload_too_large");
    BOOST_TEST(!res.keep_alive());
    BOOST_TEST(c.closed_by_server());
}

BOOST_AUTO_TEST_CASE(headers_over_the_limit_get_431)
{
    route_table routes;
    routes.add(verb::get, "/", [](const request&) { return json_response(status::ok, "{}"); });
    server_options options;
    options.header_limit = 512;
    running_server s(std::move(routes), options);
    http_client c(s.endpoint());
    bhttp::fields big;
    big.set("X-Padding", std::string(2048, 'p'));
    auto res = c.request(verb::get, "/", {}, big);
    BOOST_TEST(res.result_int() == 431);
    BOOST_TEST(error_code_of(res) == "header_too_large");
    BOOST_TEST(c.closed_by_server());
}

BOOST_AUTO_TEST_CASE(slow_client_is_cut_off_by_the_request_timeout)
{
    route_table routes;
    routes.add(verb::get, "/", [](const request&) { return json_response(status::ok, "{}"); });
    server_options options;
    options.request_timeout = 200ms;
    running_server s(std::move(routes), options);
    http_client c(s.endpoint());
    c.send_raw("GET / HTTP/1.1\r\nHost: localhost\r\nX-Never-Finished: "); // headers never end
    auto res = c.read();
    BOOST_TEST(res.result_int() == 408);
    BOOST_TEST(error_code_of(res) == "request_timeout");
    BOOST_TEST(c.closed_by_server());
}

BOOST_AUTO_TEST_CASE(idle_keep_alive_connection_is_closed_after_the_idle_timeout)
{
    route_table routes;
    routes.add(verb::get, "/", [](const request&) { return json_response(status::ok, "{}"); });
    server_options options;
    options.idle_timeout = 200ms;
    running_server s(std::move(routes), options);
    http_client c(s.endpoint());
    BOOST_TEST(c.request(verb::get, "/").result_int() == 200);
    BOOST_TEST(c.closed_by_server());
}

BOOST_AUTO_TEST_CASE(garbage_gets_400_and_the_connection_closes)
{
    route_table routes;
    routes.add(verb::get, "/", [](const request&) { return json_response(status::ok, "{}"); });
    running_server s(std::move(routes));
    http_client c(s.endpoint());
    c.send_raw("\x16\x03\x01\x02\x00 this is not HTTP\r\n\r\n");
    auto res = c.read();
    BOOST_TEST(res.result_int() == 400);
    BOOST_TEST(error_code_of(res) == "bad_request");
    BOOST_TEST(c.closed_by_server());
}

BOOST_AUTO_TEST_CASE(handler_exception_gives_500_and_the_server_keeps_serving)
{
    route_table routes;
    routes.add(verb::get, "/boom",
               [](const request&) -> response { throw std::runtime_error("policy store exploded"); });
    routes.add(verb::get, "/ok", [](const request&) { return json_response(status::ok, R"({"ok":true})"); });
    running_server s(std::move(routes));

    http_client c(s.endpoint());
    auto res = c.request(verb::get, "/boom");
    BOOST_TEST(res.result_int() == 500);
    BOOST_TEST(error_code_of(res) == "internal_error");
    BOOST_TEST(res.body().find("exploded") == std::string::npos); // internals stay in the log
    BOOST_TEST(c.request(verb::get, "/ok").result_int() == 200);  // same connection
    http_client other(s.endpoint());
    BOOST_TEST(other.request(verb::get, "/ok").result_int() == 200);

    const auto log = s.log_lines();
    BOOST_TEST_REQUIRE(log.size() == 1u);
    BOOST_TEST(log[0].find("policy store exploded") != std::string::npos);
    BOOST_TEST(log[0].find("/boom") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(coroutine_handler_may_hop_to_another_strand_and_back)
{
    side_context other;
    auto tenant_strand = asio::make_strand(other.ioc);
    route_table routes;
    routes.add(verb::get, "/v1/tenants/{tenant}",
               [&](const request& req) -> asio::awaitable<response>
               {
                   const std::string tenant(req.param("tenant"));
                   auto on_strand = co_await asio::co_spawn(
                       tenant_strand,
                       []() -> asio::awaitable<std::thread::id> { co_return std::this_thread::get_id(); },
                       asio::use_awaitable);
                   co_return json_response(status::ok,
                                           "{\"tenant\":\"" + tenant + "\",\"hopped\":" +
                                               (on_strand == other.thread.get_id() ? "true" : "false") + "}");
               });
    running_server s(std::move(routes));
    http_client c(s.endpoint());
    auto res = c.request(verb::get, "/v1/tenants/acme");
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res.body() == R"({"tenant":"acme","hopped":true})");
    other.finish();
}

BOOST_AUTO_TEST_CASE(bearer_token_protects_admin_routes)
{
    route_table routes;
    const bearer_auth auth(std::string("s3cret"));
    const bearer_auth disabled(std::nullopt);
    routes.add(
        verb::post, "/v1/policies/reload",
        auth.protect([](const request&) { return json_response(status::ok, R"({"reloaded":true})"); }));
    routes.add(verb::post, "/v1/backpressure/reset",
               disabled.protect([](const request&) { return json_response(status::ok, "{}"); }));
    running_server s(std::move(routes));
    http_client c(s.endpoint());

    auto none = c.request(verb::post, "/v1/policies/reload");
    BOOST_TEST(none.result_int() == 401);
    BOOST_TEST(error_code_of(none) == "unauthorized");

    bhttp::fields wrong;
    wrong.set(bhttp::field::authorization, "Bearer nope");
    BOOST_TEST(c.request(verb::post, "/v1/policies/reload", {}, wrong).result_int() == 401);

    bhttp::fields right;
    right.set(bhttp::field::authorization, "Bearer s3cret");
    auto ok = c.request(verb::post, "/v1/policies/reload", {}, right);
    BOOST_TEST(ok.result_int() == 200);
    BOOST_TEST(ok.body() == R"({"reloaded":true})");

    auto off = c.request(verb::post, "/v1/backpressure/reset", {}, right);
    BOOST_TEST(off.result_int() == 403);
    BOOST_TEST(error_code_of(off) == "admin_disabled");
}

BOOST_AUTO_TEST_CASE(a_connection_that_sends_nothing_is_closed_after_the_idle_timeout)
{
    route_table routes;
    routes.add(verb::get, "/", [](const request&) { return json_response(status::ok, "{}"); });
    server_options options;
    options.idle_timeout = 200ms;
    running_server s(std::move(routes), options);
    http_client silent(s.endpoint());
    BOOST_TEST(silent.closed_by_server()); // bounded by the client's 10 s, far above the 200 ms
    BOOST_TEST(wait_for_connection_count(*s.srv, 0));
}

BOOST_AUTO_TEST_CASE(at_the_limit_a_new_connection_replaces_the_one_idle_longest)
{
    route_table routes;
    routes.add(verb::get, "/livez", [](const request&) { return json_response(status::ok, "{}"); });
    server_options options;
    options.max_connections = 4;
    options.idle_timeout = 600s; // idle connections stay until evicted
    running_server s(std::move(routes), options);
    std::vector<std::unique_ptr<http_client>> silent;
    for (std::size_t i = 0; i < options.max_connections; ++i)
        silent.push_back(std::make_unique<http_client>(s.endpoint()));
    BOOST_TEST_REQUIRE(wait_for_connection_count(*s.srv, options.max_connections));

    // Each probe, on a new connection, takes the slot of the silent connection that waited longest;
    // a probe that got its answer is idle later than every silent one, so it is not chosen first.
    std::vector<std::unique_ptr<http_client>> probes;
    for (std::size_t i = 0; i < options.max_connections; ++i)
    {
        probes.push_back(std::make_unique<http_client>(s.endpoint()));
        BOOST_TEST(probes.back()->request(verb::get, "/livez").result_int() == 200);
    }
    for (auto& c : silent)
        BOOST_TEST(c->closed_by_server());
    BOOST_TEST(wait_for_connection_count(*s.srv, options.max_connections));
    BOOST_TEST(probes.front()->request(verb::get, "/livez").result_int() == 200);
}

BOOST_AUTO_TEST_CASE(at_the_limit_a_new_connection_is_refused_when_every_one_is_serving)
{
    gated_handler slow;
    route_table routes;
    routes.add(verb::get, "/slow", slow.make("{}"));
    server_options options;
    options.max_connections = 1;
    running_server s(std::move(routes), options);
    http_client serving(s.endpoint());
    bhttp::request<bhttp::string_body> req{verb::get, "/slow", 11};
    req.set(bhttp::field::host, "localhost");
    serving.send(req);
    slow.wait_entered();

    http_client refused(s.endpoint());
    BOOST_TEST(refused.closed_by_server());
    slow.release();
    BOOST_TEST(serving.read().result_int() == 200);
    slow.side.finish();
}

BOOST_AUTO_TEST_CASE(graceful_stop_lets_the_request_in_flight_finish)
{
    gated_handler slow;
    route_table routes;
    routes.add(verb::get, "/slow", slow.make(R"({"finished":true})"));
    routes.add(verb::get, "/fast", [](const request&) { return json_response(status::ok, "{}"); });

    running_server s(std::move(routes));
    http_client idle(s.endpoint());
    BOOST_TEST(idle.request(verb::get, "/fast").result_int() == 200); // now an idle keep-alive connection

    http_client busy(s.endpoint());
    bhttp::request<bhttp::string_body> req{verb::get, "/slow", 11};
    req.set(bhttp::field::host, "localhost");
    busy.send(req);
    slow.wait_entered();

    auto stopped = s.stop_async(10s);
    BOOST_TEST(idle.closed_by_server()); // idle connections go at once

    slow.release();
    auto res = busy.read();
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res.body() == R"({"finished":true})");
    BOOST_TEST(!res.keep_alive()); // told not to come back
    stopped.get();
    BOOST_TEST(s.srv->connection_count() == 0u);
    BOOST_CHECK_THROW(http_client late(s.endpoint()), boost::system::system_error);
    slow.side.finish();
}

BOOST_AUTO_TEST_CASE(start_reports_an_address_in_use)
{
    asio::io_context ioc;
    server_options options;
    options.listen = "127.0.0.1:0";
    server first(ioc.get_executor(), route_table{}, options);
    BOOST_REQUIRE(first.start().empty());
    options.listen = "127.0.0.1:" + std::to_string(first.local_endpoint().port());
    server second(ioc.get_executor(), route_table{}, options);
    const auto error = second.start();
    BOOST_TEST(error.find("cannot bind 127.0.0.1:") != std::string::npos, error);
}

BOOST_AUTO_TEST_SUITE_END()
