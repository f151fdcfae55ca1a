#include "beamline/app/report_cli.hpp"

#include "beamline/app/deployment_report.hpp"
#include "beamline/app/http_client.hpp"
#include "beamline/app/units.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace beamline::app
{

namespace json = boost::json;

namespace
{

constexpr const char* usage =
    "usage: beamline_router report [--since DURATION] [--json] [--baseline FILE] [--nats-monitor URL]\n"
    "  Prints the deployment checklist's figures (RPS, p95/p99, memory, error rate, errors by type,\n"
    "  NATS reconnects per day and connection failures by reason, backpressure share of time,\n"
    "  triggers and recovery, JetStream lag, redeliveries, MaxDeliver exhaustions; for CP2: where\n"
    "  trace_id, tenant_id and version came from, idempotency hits/misses/conflicts/size, results by\n"
    "  correlation key) and the first-week success criteria as PASS/FAIL/UNKNOWN lines.\n"
    "  --since 5m      take two readings 5 minutes apart and judge the interval (default: the\n"
    "                  router's counters since it started)\n"
    "  --json          also write _artifacts/report_<timestamp>.json (ARTIFACTS_DIR overrides)\n"
    "  --baseline F    the baseline to compare with (default perf/baseline.json when present)\n"
    "  --nats-monitor  nats-server's monitoring URL (default nats.monitor_url)\n"
    "  exit: 0 no criterion failed, 1 a criterion failed, 2 bad arguments, 3 the router did not answer\n";

struct endpoint
{
    std::string host;
    unsigned short port = 0;
};

/// `http://host:port` (a path, if any, is ignored).
std::optional<endpoint> parse_monitor_url(std::string_view url)
{
    constexpr std::string_view scheme = "http://";
    if (url.substr(0, scheme.size()) != scheme) return std::nullopt;
    url.remove_prefix(scheme.size());
    url = url.substr(0, url.find('/'));
    auto hp = common::parse_host_port(url);
    if (!hp || hp.value().port == 0) return std::nullopt;
    return endpoint{hp.value().host.empty() ? "127.0.0.1" : hp.value().host, hp.value().port};
}

std::string client_host(const host_port& listen)
{
    if (listen.host.empty() || listen.host == "0.0.0.0") return "127.0.0.1";
    if (listen.host == "::") return "::1";
    return listen.host;
}

std::optional<json::value> fetch_json(const endpoint& e, const std::string& target, std::string& error)
{
    auto r = http_call(e.host, e.port, "GET", target);
    if (r.status != 200)
    {
        error = r.status == 0 ? r.error : target + " answered HTTP " + std::to_string(r.status);
        return std::nullopt;
    }
    json::error_code ec;
    auto v = json::parse(r.body, ec);
    if (ec)
    {
        error = target + " is not JSON: " + ec.message();
        return std::nullopt;
    }
    return v;
}

bool read_metrics(const endpoint& router, metrics::exposition& out, std::string& error)
{
    auto r = http_call(router.host, router.port, "GET", "/metrics");
    if (r.status != 200)
    {
        error = r.status == 0 ? r.error : "/metrics answered HTTP " + std::to_string(r.status);
        return false;
    }
    if (auto e = metrics::parse_exposition(r.body, out))
    {
        error = "/metrics line " + std::to_string(e->line) + ": " + e->message;
        return false;
    }
    return true;
}

double unix_now()
{
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string timestamp()
{
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

} // namespace

int run_report(const config& cfg, const std::vector<std::string>& args)
{
    std::optional<std::chrono::milliseconds> since;
    bool write_json = false;
    std::string baseline_path;
    std::string monitor_url = cfg.nats.monitor_url;
    for (std::size_t i = 0; i < args.size(); ++i)
    {
        const auto& a = args[i];
        auto value = [&]() -> const std::string*
        {
            if (i + 1 >= args.size())
            {
                std::cerr << "report: " << a << " needs a value\n" << usage;
                return nullptr;
            }
            return &args[++i];
        };
        if (a == "--help" || a == "-h")
        {
            std::cout << usage;
            return 0;
        }
        if (a == "--json")
            write_json = true;
        else if (a == "--since")
        {
            const auto* v = value();
            if (!v) return 2;
            auto d = parse_duration(*v, std::chrono::seconds{1});
            if (!d || d.value().count() <= 0)
            {
                std::cerr << "report: --since: " << (d ? "must be longer than 0" : d.error()) << "\n";
                return 2;
            }
            since = d.value();
        }
        else if (a == "--baseline")
        {
            const auto* v = value();
            if (!v) return 2;
            baseline_path = *v;
        }
        else if (a == "--nats-monitor")
        {
            const auto* v = value();
            if (!v) return 2;
            monitor_url = *v;
        }
        else
        {
            std::cerr << "report: unexpected argument \"" << a << "\"\n" << usage;
            return 2;
        }
    }

    endpoint router{client_host(cfg.http.listen), cfg.http.listen.port};
    report_inputs in;
    std::string error;
    if (since)
    {
        metrics::exposition first;
        if (!read_metrics(router, first, error))
        {
            std::cerr << "report: the router did not answer: " << error << "\n";
            return 3;
        }
        auto t0 = std::chrono::steady_clock::now();
        std::this_thread::sleep_for(*since);
        in.interval_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        in.earlier = std::move(first);
    }
    if (!read_metrics(router, in.metrics, error))
    {
        std::cerr << "report: the router did not answer: " << error << "\n";
        return 3;
    }
    in.now_unix_s = unix_now();
    if (auto s = fetch_json(router, "/v1/status", error)) in.status = std::move(*s);

    if (auto monitor = parse_monitor_url(monitor_url))
    {
        in.varz = fetch_json(*monitor, "/varz", in.nats_monitor_error);
        if (in.varz) in.jsz = fetch_json(*monitor, "/jsz", in.nats_monitor_error);
    }
    else
        in.nats_monitor_error = "\"" + monitor_url + "\" is not an http://host:port URL";

    if (baseline_path.empty() && std::filesystem::exists("perf/baseline.json")) baseline_path = "perf/baseline.json";
    if (!baseline_path.empty())
    {
        std::ifstream f(baseline_path);
        std::stringstream text;
        text << f.rdbuf();
        json::error_code ec;
        auto v = json::parse(text.str(), ec);
        if (!f || ec)
            std::cerr << "report: baseline " << baseline_path << " not read: " << (ec ? ec.message() : "cannot open") << "\n";
        else
            in.baseline = std::move(v);
    }

    auto report = build_report(in);
    std::cout << render_text(report);
    if (!in.nats_monitor_error.empty()) std::cout << "\nnats-server monitoring: not read (" << in.nats_monitor_error << ")\n";

    if (write_json)
    {
        const char* dir_env = std::getenv("ARTIFACTS_DIR");
        std::filesystem::path dir = dir_env && *dir_env ? dir_env : "_artifacts";
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        auto path = dir / ("report_" + timestamp() + ".json");
        std::ofstream out(path);
        out << json::serialize(to_json(report)) << "\n";
        if (!out)
        {
            std::cerr << "report: cannot write " << path.string() << "\n";
            return 1;
        }
        std::cout << "\nwritten: " << path.string() << "\n";
    }
    return report.exit_code();
}

} // namespace beamline::app
