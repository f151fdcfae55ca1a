#include "beamline/app/daemon_cli.hpp"

#include "beamline/app/admin_cli.hpp"
#include "beamline/app/admin_nats.hpp"
#include "beamline/app/config.hpp"
#include "beamline/app/daemon.hpp"
#include "beamline/app/http_api.hpp"
#include "beamline/app/http_client.hpp"
#include "beamline/app/report_cli.hpp"
#include "beamline/app/logging.hpp"
#include "beamline/app/router_service.hpp"
#include "beamline/app/sd_notify.hpp"
#include "beamline/app/version.hpp"
#include "beamline/http/server.hpp"
#include "beamline/metrics/process.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <csignal>
#include <functional>
#include <iostream>
#include <optional>
#include <thread>

namespace beamline::app
{
namespace
{

namespace asio = boost::asio;
using namespace std::chrono_literals;

/// EX_UNAVAILABLE of sysexits(3): the service the router needs (NATS) is unavailable.
constexpr int exit_nats_gave_up = 69;

struct loaded_config
{
    config cfg;
    std::vector<std::string> rest; ///< arguments that were not configuration
};

/// Configuration from --config FILE, BEAMLINE_* and --section.key flags (flags win).
std::optional<loaded_config> load(std::vector<std::string> args, const char* verb)
{
    loaded_config out;
    auto sources = take_config_arguments(args);
    sources.environment = process_environment();
    auto r = load_config(sources);
    if (!r)
    {
        std::cerr << "beamline_router " << verb << ": " << r.error().message << "\n";
        return std::nullopt;
    }
    out.cfg = *r;
    out.rest = std::move(args);
    return out;
}

/// Drain NATS first (no request is lost), then the HTTP server, then the loop. A named coroutine
/// taking pointers: a lambda coroutine's captures would die with its temporary closure.
asio::awaitable<void> shut_down(asio::io_context* io, router_service* service, http::server* web,
                                std::chrono::milliseconds drain_timeout)
{
    co_await service->drain(drain_timeout);
    co_await web->stop(2s);
    io->stop();
}

void tell_systemd(const service_notifier& notifier, std::error_code ec)
{
    if (ec) log::warn("cannot notify systemd", {{"socket", notifier.socket()}, {"error", ec.message()}});
}

/// Type=notify: READY=1 once decide requests can be answered (NATS connected, subscribed, policies
/// loaded). Polled, since those conditions change on their own; it gives up when draining starts.
asio::awaitable<void> notify_when_ready(router_service* service, const service_notifier* notifier,
                                        std::atomic<bool>* announced)
{
    asio::steady_timer poll(co_await asio::this_coro::executor);
    while (true)
    {
        const auto health = service->health();
        if (health.draining) co_return;
        if (health.ready())
        {
            // Announced first: a SIGHUP right after READY=1 must be told as a reload.
            announced->store(true);
            tell_systemd(*notifier, notifier->ready("serving " + std::to_string(service->policies().list().size()) +
                                                    " policies from " + service->nats().current_server()));
            co_return;
        }
        poll.expires_after(100ms);
        auto [ec] = co_await poll.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
    }
}

int serve(const config& cfg, daemon_handle* daemon)
{
    if (auto ec = log::configure(log::global(), cfg.log.level, cfg.log.file))
    {
        std::string why = "cannot open log " + cfg.log.file + ": " + ec.message();
        if (daemon) daemon->report_failure(why);
        std::cerr << why << "\n";
        return 1;
    }
    unsigned threads = cfg.router.threads ? cfg.router.threads : std::max(1u, std::thread::hardware_concurrency());
    // With two threads or more, one of them runs only the NATS connection and the decide pipeline
    // (docs/architecture.md, "Threads"): each message is read, decided and answered on it, and
    // the other threads take HTTP, timers, results, admin and reloads. With one, it does it all.
    const bool decide_thread = threads >= 2;
    asio::io_context io(static_cast<int>(decide_thread ? threads - 1 : 1));
    std::optional<asio::io_context> decide_io;
    if (decide_thread) decide_io.emplace(1);
    metrics::registry reg;
    auto process_metrics = metrics::register_process_metrics(reg);
    metrics::register_build_info(reg, beamline_version);

    // Either way one thread runs the decisions' io_context, so they need no strand hand-off.
    router_service service(io, cfg, reg, decide_io ? &*decide_io : &io);
    // A router without NATS answers nothing but stays up, and a supervisor only restarts what exits:
    // when the reconnect budget is spent it says so at error and exits non-zero. Retrying forever
    // is the configuration nats.max_reconnect = -1, under which this never fires.
    int exit_code = 0;
    std::function<void()> stop_serving; // set below, before the loop runs
    service.on_nats_gave_up([&](std::error_code ec) {
        log::error("giving up on NATS: the reconnect budget is spent; exiting so that a supervisor restarts the router",
                   {{"max_reconnect", static_cast<std::int64_t>(cfg.nats.max_reconnect)},
                    {"error", service.nats().last_error_text()}, {"code", ec.message()},
                    {"exit_code", static_cast<std::int64_t>(exit_nats_gave_up)}});
        asio::post(io, [&] {
            exit_code = exit_nats_gave_up;
            stop_serving();
        });
    });
    auto report = service.start();
    admin_nats admin(service, cfg);
    if (auto ec = admin.start())
        log::error("cannot subscribe to the admin and status subjects", {{"error", ec.message()}});

    http::server_options ho;
    ho.listen = to_string(cfg.http.listen);
    ho.request_timeout = cfg.http.request_timeout_ms;
    ho.idle_timeout = cfg.http.idle_timeout_ms;
    ho.max_connections = cfg.http.max_connections;
    ho.body_limit = cfg.http.body_limit;
    std::optional<std::string> token;
    if (!cfg.http.admin_token.empty()) token = cfg.http.admin_token;
    http::server web(io.get_executor(), make_routes(service, reg, token), ho,
                     [](std::string_view level, std::string_view msg) {
                         if (level == "error") log::error(msg);
                         else if (level == "warn") log::warn(msg);
                         else log::debug(msg);
                     });
    if (auto err = web.start(); !err.empty())
    {
        log::error("cannot serve HTTP", {{"listen", ho.listen}, {"error", err}});
        if (daemon) daemon->report_failure("cannot serve HTTP on " + ho.listen + ": " + err);
        return 1;
    }

    pid_t pid = ::getpid();
    if (auto ec = write_pidfile(cfg.router.pidfile, pid))
        log::warn("cannot write pidfile", {{"path", cfg.router.pidfile}, {"error", ec.message()}});
    log::info("beamline_router started",
              {{"version", std::string(beamline_version)}, {"pid", static_cast<std::int64_t>(pid)},
               {"http", ho.listen}, {"nats", cfg.nats.url.empty() ? std::string() : cfg.nats.url.front()},
               {"threads", static_cast<std::int64_t>(threads)}, {"policies", static_cast<std::int64_t>(report.loaded)}});
    if (daemon) daemon->report_ready();
    const auto notifier = service_notifier::from_environment();
    std::atomic<bool> announced_ready{false}; // a reload before readiness must not announce it
    if (notifier.enabled())
        asio::co_spawn(io, notify_when_ready(&service, &notifier, &announced_ready), asio::detached);

    asio::signal_set stop_signals(io, SIGTERM, SIGINT);
    asio::signal_set hup(io, SIGHUP);
    std::function<void()> wait_hup = [&] {
        hup.async_wait([&](boost::system::error_code ec, int) {
            if (ec) return;
            log::info("SIGHUP: reloading policies and reopening the log");
            const bool announced = announced_ready.load();
            if (announced) tell_systemd(notifier, notifier.reloading());
            log::global().reopen();
            service.reload_policies();
            if (announced) tell_systemd(notifier, notifier.ready());
            wait_hup();
        });
    };
    wait_hup();
    stop_serving = [&] {
        hup.cancel();
        stop_signals.cancel();
        tell_systemd(notifier, notifier.stopping());
        asio::co_spawn(io, shut_down(&io, &service, &web, cfg.router.drain_timeout_ms), asio::detached);
    };
    stop_signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec) return;
        log::info("stopping", {{"signal", static_cast<std::int64_t>(sig)}});
        stop_serving();
    });

    // The decide thread runs until the rest has stopped: draining (on `io`) needs the connection.
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> decide_work;
    std::thread decide_runner;
    if (decide_io)
    {
        decide_work.emplace(decide_io->get_executor());
        decide_runner = std::thread([&] { decide_io->run(); });
    }
    std::vector<std::thread> pool;
    for (unsigned i = 1 + (decide_thread ? 1 : 0); i < threads; ++i)
        pool.emplace_back([&] { io.run(); });
    io.run();
    for (auto& t : pool)
        t.join();
    if (decide_io)
    {
        decide_work.reset();
        decide_io->stop();
        decide_runner.join();
    }
    remove_pidfile(cfg.router.pidfile, pid);
    log::info("beamline_router stopped", {{"exit_code", static_cast<std::int64_t>(exit_code)}});
    return exit_code;
}

std::string daemon_log_file(const config& cfg)
{
    return cfg.log.file == "stderr" || cfg.log.file.empty() ? "beamline_router.log" : cfg.log.file;
}

int start(const config& cfg)
{
    auto state = inspect_pidfile(cfg.router.pidfile);
    if (state.state == pidfile_state::status::running)
    {
        std::cout << "beamline_router already running (pid " << state.pid << ")\n";
        return 0;
    }
    auto log_file = daemon_log_file(cfg);
    auto d = daemonize(log_file);
    if (!d)
    {
        std::cerr << "beamline_router start: cannot daemonize: " << d.error().message() << "\n";
        return 1;
    }
    if (d->is_daemon())
    {
        config daemon_cfg = cfg;
        if (daemon_cfg.log.file == "stderr") daemon_cfg.log.file = log_file;
        return serve(daemon_cfg, &*d);
    }
    auto report = d->wait_for_startup(15s);
    if (!report.ready)
    {
        std::cerr << "beamline_router start: " << report.failure << "\n";
        return 1;
    }
    std::cout << "beamline_router started (pid " << d->daemon_pid() << "), log " << log_file << ", http "
              << to_string(cfg.http.listen) << "\n";
    return 0;
}

int stop(const config& cfg)
{
    auto state = inspect_pidfile(cfg.router.pidfile);
    if (state.state != pidfile_state::status::running)
    {
        std::cout << "beamline_router is not running" << (state.detail.empty() ? "" : " (" + state.detail + ")") << "\n";
        return 0;
    }
    auto outcome = signal_and_wait(state.pid, SIGTERM, cfg.router.drain_timeout_ms + 5s);
    if (outcome == stop_outcome::timed_out)
    {
        std::cerr << "beamline_router stop: pid " << state.pid << " did not stop within the drain timeout; sending SIGKILL\n";
        signal_and_wait(state.pid, SIGKILL, 5s);
        return 1;
    }
    std::cout << "beamline_router stopped (pid " << state.pid << ")\n";
    return 0;
}

int ping(const config& cfg)
{
    auto r = http_call(cfg.http.listen.host, cfg.http.listen.port, "GET", "/healthz");
    if (r.status == 200)
    {
        std::cout << "pong\n";
        return 0;
    }
    if (r.status == 0)
    {
        std::cerr << "beamline_router ping: no answer: " << r.error << "\n";
        return 1;
    }
    std::string reason = r.body;
    try
    {
        auto v = boost::json::parse(r.body);
        if (auto* p = v.as_object().if_contains("reason")) reason = std::string(p->as_string());
    }
    catch (...)
    {
    }
    std::cerr << "beamline_router ping: unhealthy (HTTP " << r.status << "): " << reason << "\n";
    return 1;
}

int status(const config& cfg)
{
    auto r = http_call(cfg.http.listen.host, cfg.http.listen.port, "GET", "/v1/status");
    if (r.status == 0)
    {
        std::cerr << "beamline_router status: not running or not answering: " << r.error << "\n";
        return 3;
    }
    std::cout << r.body << "\n";
    return r.status == 200 ? 0 : 1;
}

} // namespace

int run_daemon_verb(const std::string& verb, std::vector<std::string> args)
{
    auto loaded = load(std::move(args), verb.c_str());
    if (!loaded) return 2;
    const auto& cfg = loaded->cfg;
    if (verb == "policy") return policy_verb(cfg, loaded->rest);
    if (verb == "breakers") return breakers_verb(cfg, loaded->rest);
    if (verb == "report") return run_report(cfg, loaded->rest);
    if (verb == "backpressure") return backpressure_verb(cfg, loaded->rest);
    if (!loaded->rest.empty())
    {
        std::cerr << "beamline_router " << verb << ": unexpected argument \"" << loaded->rest.front() << "\"\n";
        return 2;
    }
    if (verb == "run" || verb == "start" || verb == "restart")
        if (auto err = check_startup_files(cfg))
        {
            std::cerr << "beamline_router " << verb << ": " << err->message << "\n";
            return 2;
        }
    if (verb == "run") return serve(cfg, nullptr);
    if (verb == "start") return start(cfg);
    if (verb == "stop") return stop(cfg);
    if (verb == "restart")
    {
        if (int rc = stop(cfg); rc != 0) return rc;
        return start(cfg);
    }
    if (verb == "ping") return ping(cfg);
    if (verb == "status") return status(cfg);
    std::cerr << "beamline_router: unknown verb \"" << verb << "\"\n";
    return 2;
}

} // namespace beamline::app
