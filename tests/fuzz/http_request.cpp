// The daemon's HTTP request path in process: any bytes as a request on the wire, parsed with the
// server's limits, routed by the daemon's own route table and answered by its handlers (health,
// metrics, status, policy admin with and without the token). Properties: nothing crashes or
// throws out of a handler, and every JSON answer is valid JSON.
#include "beamline/app/config.hpp"
#include "beamline/app/http_api.hpp"
#include "beamline/app/logging.hpp"
#include "beamline/app/router_service.hpp"
#include "beamline/http/connection.hpp"
#include "fuzz_check.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/json/parse.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

using beamline::fuzz::check;
namespace app = beamline::app;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace http = beamline::http;

namespace
{

const char* const admin_token = "fuzz-admin-token";

/// The daemon's HTTP surface over a policies directory of its own, with no NATS connection.
struct daemon_surface
{
    daemon_surface()
    {
        char pattern[] = "/tmp/beamline-fuzz-http-XXXXXX";
        check(::mkdtemp(pattern) != nullptr, "mkdtemp failed");
        dir = pattern;
        write_policies();
        cfg.router.policies_dir = dir.string();
        (void)app::log::configure(app::log::global(), "error", "stderr");
        service.emplace(io, cfg, registry);
        service->reload_policies();
        routes.emplace(app::make_routes(*service, registry, std::string(admin_token)));
    }

    /// Back to the one policy every input starts from: a request that put or deleted policies
    /// must not change what the next input meets (each input alone reproduces its outcome, and the
    /// directory does not grow run after run, slowing every reload and list).
    void reset_policies()
    {
        std::error_code ignored;
        for (const auto& entry : std::filesystem::directory_iterator(dir, ignored))
            std::filesystem::remove_all(entry.path(), ignored);
        write_policies();
        service->reload_policies();
    }

    void write_policies() const
    {
        std::filesystem::create_directories(dir / "acme");
        std::ofstream(dir / "acme" / "default.json")
            << R"({"version":"1","providers":[{"name":"openai","weight":1}]})";
    }
    ~daemon_surface()
    {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }

    std::filesystem::path dir;
    app::config cfg = app::default_config();
    asio::io_context io;
    beamline::metrics::registry registry;
    std::optional<app::router_service> service;
    std::optional<http::route_table> routes;
};

asio::awaitable<http::response> answer(const http::route_table* routes, const http::request* req)
{
    auto resolved = routes->resolve(req->method, req->path);
    if (auto* refusal = std::get_if<http::response>(&resolved)) co_return *refusal;
    auto& found = std::get<http::route_table::match>(resolved);
    http::request with_params = *req;
    with_params.params = std::move(found.params);
    co_return co_await (*found.handler)(with_params);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static daemon_surface surface;
    const http::server_options limits;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.eager(true);
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    parser.body_limit(limits.body_limit);
    boost::system::error_code ec;
    parser.put(asio::buffer(data, size), ec);
    if (ec || !parser.is_done()) return 0;
    const auto& msg = parser.get();
    const auto req = http::request_view(msg);

    std::optional<http::response> res;
    asio::co_spawn(surface.io, answer(&*surface.routes, &req),
                   [&](std::exception_ptr failure, http::response r)
                   {
                       check(!failure, "a handler threw");
                       res = std::move(r);
                   });
    surface.io.restart();
    surface.io.run();
    check(res.has_value(), "no response was produced");
    if (req.method != http::verb::get && req.method != http::verb::head) surface.reset_policies();
    if (res->content_type == "application/json" && req.method != http::verb::head)
    {
        boost::json::parse(res->body, ec);
        check(!ec, "a JSON response is not valid JSON");
    }
    return 0;
}
