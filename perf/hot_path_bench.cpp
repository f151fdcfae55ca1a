// Microbenchmarks of the decide hot path, one piece at a time, in one process:
//   parse_frame (a MSG with a decide body), parse_decide_request (intake), select_provider
//   (weighted, and a sticky hit), append_decide_success (reply encoding), and the whole
//   decide_engine (intake + decide) on one tenant; intake also with a 4 KiB prompt; and the two
//   per-tenant lookups of every decide (policy_store::get, tenant_registry::acquire) over 1,000 and
//   50,000 tenants taken in turn, as the bench's load generator spreads requests; and a whole
//   decide_pipeline submit (job, intake, tenant, strand, decision, reply to a sink that drops it)
//   over the same tenants, run inside the io_context as the NATS reader runs it.
// Prints ns of this thread's CPU per call (median of several batches; CPU time, not wall time, so a
// neighbour's load moves it less) and a JSON line; figures, never assertions.
//
//   build/perf/beamline_hot_path_bench [--iterations N] [--batches B] [--tenants N]
//   (--tenants: one tenant set instead of 1,000 and 50,000, e.g. for a steady-state callgrind run)

#include "beamline/nats/protocol/parser.hpp"
#include "beamline/router/decide_engine.hpp"
#include "beamline/router/decide_pipeline.hpp"
#include "beamline/router/decide_reply.hpp"
#include "beamline/router/policy.hpp"
#include "beamline/router/selection.hpp"
#include "beamline/router/tenant_registry.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace
{

namespace router = beamline::router;

double thread_cpu_ns()
{
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

volatile std::size_t sink; // keeps results alive so the optimiser cannot drop the work

/// Median ns per call over `batches` batches of `iterations` calls.
double measure(std::size_t iterations, std::size_t batches, const std::function<std::size_t()>& call)
{
    std::vector<double> per_call;
    for (std::size_t i = 0; i < iterations / 10 + 1; ++i)
        sink = call(); // warm-up
    for (std::size_t b = 0; b < batches; ++b)
    {
        const double start = thread_cpu_ns();
        std::size_t acc = 0;
        for (std::size_t i = 0; i < iterations; ++i)
            acc += call();
        const double ns = thread_cpu_ns() - start;
        sink = acc;
        per_call.push_back(ns / static_cast<double>(iterations));
    }
    std::sort(per_call.begin(), per_call.end());
    return per_call[per_call.size() / 2];
}

constexpr const char* policy_json = R"({"version":"3",
  "providers":[{"name":"openai","weight":70,"expected_latency_ms":250,"cost":0.002},
               {"name":"anthropic","weight":30,"expected_latency_ms":300,"cost":0.003}],
  "sticky":{"enabled":true,"session_key":"user_id","ttl":"10m"},
  "fallback":{"provider":"local_llm"}})";

constexpr const char* request_json =
    R"({"version":"1","request_id":"r-000001","tenant_id":"acme","policy_id":"default",)"
    R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","task":{"type":"text.generate","payload":{"prompt":"hi"}},)"
    R"("constraints":{"max_latency_ms":2000},"metadata":{"user_id":"u-42"}})";

/// Counts the replies and drops them.
struct dropping_sink final : router::reply_sink
{
    std::size_t replies = 0, ok = 0;
    router::publish_result send_reply(std::string_view, const router::decide_outcome& out) noexcept override
    {
        ++replies;
        if (!out.error) ++ok;
        return {};
    }
};

} // namespace

int main(int argc, char** argv)
{
    std::size_t iterations = 200000, batches = 7;
    std::vector<std::size_t> tenant_sets{1000, 50000};
    for (int i = 1; i + 1 < argc; i += 2)
    {
        std::string a = argv[i];
        if (a == "--iterations") iterations = std::strtoull(argv[i + 1], nullptr, 10);
        else if (a == "--batches") batches = std::strtoull(argv[i + 1], nullptr, 10);
        else if (a == "--tenants") tenant_sets = {std::max<std::size_t>(1, std::strtoull(argv[i + 1], nullptr, 10))};
        else
        {
            std::fprintf(stderr, "usage: %s [--iterations N] [--batches B] [--tenants N]\n", argv[0]);
            return 2;
        }
    }

    std::string body = request_json;
    std::string frame = "MSG beamline.router.v1.decide 1 _INBOX.abcdefghijklmnopqrstuv.17 " +
                        std::to_string(body.size()) + "\r\n" + body + "\r\n";
    auto parsed_policy = router::parse_policy(policy_json, "default");
    if (!parsed_policy)
    {
        std::fprintf(stderr, "bench policy invalid: %s\n", parsed_policy.error().message.c_str());
        return 1;
    }
    const router::policy& pol = *parsed_policy;

    // A policy store on disk for the whole-engine figure.
    // In memory when the host has /dev/shm: 50,000 policy files on a shared disk take minutes.
    const std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm") : std::filesystem::temp_directory_path();
    auto dir = base / ("beamline-hotpath-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "acme");
    std::ofstream(dir / "acme" / "default.json") << policy_json;
    router::policy_store store(dir);
    store.load_directory();
    router::decide_engine engine(store, {});
    router::tenant_state tenant("acme", router::tenant_limits{}, 42);

    router::request_meta meta{"beamline.router.v1.decide", std::nullopt, std::nullopt};
    router::intake_limits limits;
    boost::json::object context{{"user_id", "u-42"}};
    router::constraints none;
    router::sticky_store sticky;
    router::selection_rng rng(7);
    auto now = std::chrono::steady_clock::now();
    router::decision d{"openai", router::decision_reason::weighted, 250, 0.002, "default", "3"};
    std::string out;

    struct row
    {
        std::string name;
        double ns;
    };
    std::vector<row> rows;
    rows.push_back({"parse_frame (MSG, 250-byte body)", measure(iterations, batches, [&] {
                        beamline::nats::protocol::frame f;
                        return beamline::nats::protocol::parse_frame(frame, f).consumed;
                    })});
    rows.push_back({"parse_decide_request (intake)", measure(iterations / 4, batches, [&] {
                        auto r = router::parse_decide_request(body, meta, limits);
                        return static_cast<std::size_t>(r.ok());
                    })});
    // The same request with a 4 KiB prompt: how intake's cost grows with the bytes.
    std::string large = body;
    large.replace(large.find("\"hi\""), 4, "\"" + std::string(4096, 'p') + "\"");
    rows.push_back({"parse_decide_request, 4 KiB prompt", measure(iterations / 8, batches, [&] {
                        auto r = router::parse_decide_request(large, meta, limits);
                        return static_cast<std::size_t>(r.ok());
                    })});
    rows.push_back({"select_provider (weighted)", measure(iterations, batches, [&] {
                        router::selection_request sel{context, none, rng(), {}, nullptr, now};
                        auto r = router::select_provider(pol, sel);
                        return r ? r->provider_id.size() : 0;
                    })});
    rows.push_back({"select_provider (sticky hit)", measure(iterations, batches, [&] {
                        router::selection_request sel{context, none, rng(), {}, &sticky, now};
                        auto r = router::select_provider(pol, sel);
                        return r ? r->provider_id.size() : 0;
                    })});
    rows.push_back({"append_decide_success (reply)", measure(iterations, batches, [&] {
                        out.clear();
                        router::append_decide_success(out, d, {"r-000001", "acme", "4bf92f3577b34da6a3ce929d0e0e4736"});
                        return out.size();
                    })});
    rows.push_back({"decide_engine intake + decide", measure(iterations / 4, batches, [&] {
                        router::decide_outcome o;
                        auto req = engine.intake(body, meta, o);
                        if (req) engine.decide(*req, tenant, std::chrono::steady_clock::now(), o);
                        return o.reply.size();
                    })});
    for (std::size_t tenants : tenant_sets)
    {
        auto many = dir / ("tenants-" + std::to_string(tenants));
        std::vector<std::string> ids;
        for (std::size_t t = 0; t < tenants; ++t)
        {
            ids.push_back("t-" + std::to_string(t));
            std::filesystem::create_directories(many / ids.back());
            std::ofstream(many / ids.back() / "default.json") << policy_json;
        }
        router::policy_store many_store(many);
        many_store.load_directory();
        boost::asio::io_context io;
        router::tenant_registry registry(io.get_executor(), {}, 7);
        for (const auto& id : ids)
            registry.acquire(id, true, now);
        std::size_t next = 0;
        // "1,000 tenants", "50,000 tenants"
        std::string count = std::to_string(tenants);
        for (auto at = count.size(); at > 3; at -= 3)
            count.insert(at - 3, ",");
        const std::string of_tenants = ", " + count + (tenants == 1 ? " tenant" : " tenants");
        rows.push_back({"policy_store::get" + of_tenants, measure(iterations, batches, [&] {
                            auto p = many_store.get(ids[next++ % tenants], "default");
                            return p ? p->providers.size() : 0;
                        })});
        rows.push_back({"tenant_registry::acquire" + of_tenants, measure(iterations, batches, [&] {
                            auto a = registry.acquire(ids[next++ % tenants], false, now);
                            return static_cast<std::size_t>(a.verdict);
                        })});

        // The whole pipeline, inside the io_context, run by this one thread as the daemon's decide
        // thread is: each decision runs at once (BENCH_STRANDS=1: through its tenant's strand).
        std::vector<std::string> bodies;
        for (const auto& id : ids)
        {
            std::string b = body;
            b.replace(b.find("\"acme\""), 6, "\"" + id + "\"");
            bodies.push_back(std::move(b));
        }
        router::decide_pipeline_settings settings;
        settings.tenants.max_tenants = tenants;
        const char* strands = std::getenv("BENCH_STRANDS");
        settings.one_thread = !(strands && std::string_view(strands) == "1");
        router::decide_pipeline pipeline(io.get_executor(), many_store, settings, {});
        auto replies = std::make_shared<dropping_sink>();
        boost::asio::post(io, [&] {
            rows.push_back({"decide_pipeline submit" + of_tenants, measure(iterations / 4, batches, [&] {
                                const std::size_t i = next++ % tenants;
                                pipeline.submit(bodies[i], meta, replies, "_INBOX.abcdefghijklmnopqrstuv.17");
                                return replies->ok;
                            })});
        });
        io.run();
        io.restart();
        if (replies->ok != replies->replies)
        {
            std::fprintf(stderr, "pipeline bench: %zu of %zu replies were refusals\n", replies->replies - replies->ok,
                         replies->replies);
            return 1;
        }
    }
    std::filesystem::remove_all(dir);

    std::printf("%-44s %12s\n", "hot-path piece", "CPU ns per call");
    std::string json = "{\"unit\":\"ns_per_call\"";
    for (const auto& r : rows)
    {
        std::printf("%-44s %12.0f\n", r.name.c_str(), r.ns);
        json += ",\"" + std::string(r.name) + "\":" + std::to_string(static_cast<long long>(r.ns));
    }
    json += "}";
    std::printf("%s\n", json.c_str());
    return 0;
}
