// Results throughput end to end over a nats-server with JetStream that the caller started:
// N ExecResults stored in the results stream beforehand, then timed until every one has been
// consumed, metered (usage event published, PubAck received) and acknowledged.
//   router:  app::results_service, the daemon's results loop (pull consumer, validation, usage
//            event with Nats-Msg-Id through a window of PubAcks, ack after the PubAck).
//   libnats: the same work with the official client and nothing else: js_PullSubscribe, fetch a
//            batch, js_PublishAsync one usage event per result with its Nats-Msg-Id,
//            js_PublishAsyncComplete, then ack the batch. A reference for what the server allows.
// Rounds alternate which goes first; figures are medians. On a shared machine only the ratio
// measured side by side means something.
//
//   beamline_results_bench --url nats://127.0.0.1:4222 [--results 20000] [--rounds 3]

#include "beamline/app/results_service.hpp"
#include "beamline/metrics/registry.hpp"
#include "beamline/nats/jetstream/context.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nats/nats.h>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

namespace
{

namespace asio = boost::asio;
namespace nats = beamline::nats;
namespace js = beamline::nats::jetstream;
namespace app = beamline::app;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct settings
{
    std::string url = "nats://127.0.0.1:4222";
    std::size_t results = 20'000;
    int rounds = 3;
};

void check(natsStatus s, const char* what)
{
    if (s != NATS_OK) throw std::runtime_error(std::string(what) + ": " + natsStatus_GetText(s));
}

std::string result_body(std::size_t i)
{
    static const char* statuses[] = {"success", "error", "timeout", "cancelled"};
    return R"({"version":"1","assignment_id":"bench-)" + std::to_string(i) +
           R"(","tenant_id":"acme","provider_id":"openai","status":")" + statuses[i % 4] +
           R"(","job":{"type":"text.generate"},"latency_ms":120,"cost":0.01})";
}

struct libnats_conn
{
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    explicit libnats_conn(const std::string& url)
    {
        check(natsConnection_ConnectTo(&nc, url.c_str()), "connect");
        jsOptions o;
        jsOptions_Init(&o);
        o.PublishAsync.MaxPending = 4000;
        check(natsConnection_JetStream(&js, nc, &o), "jetstream");
    }
    ~libnats_conn()
    {
        jsCtx_Destroy(js);
        natsConnection_Destroy(nc);
    }

    void recreate_stream(const char* name, const char* subject)
    {
        jsErrCode code;
        js_DeleteStream(js, name, nullptr, &code);
        jsStreamConfig c;
        jsStreamConfig_Init(&c);
        c.Name = name;
        const char* subjects[] = {subject};
        c.Subjects = subjects;
        c.SubjectsLen = 1;
        c.Storage = js_FileStorage;
        check(js_AddStream(nullptr, js, &c, nullptr, &code), "add stream");
    }

    void fill(const char* subject, std::size_t n)
    {
        for (std::size_t i = 0; i < n; ++i)
        {
            auto body = result_body(i);
            check(js_PublishAsync(js, subject, body.data(), static_cast<int>(body.size()), nullptr), "fill");
        }
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = 60000;
        check(js_PublishAsyncComplete(js, &po), "fill complete");
    }
};

/// The router's results loop, timed from start to the last ack.
double run_router(const settings& s)
{
    libnats_conn filler(s.url);
    for (auto [name, subject] : {std::pair{"BEAMLINE_RESULTS", "caf.exec.result.v1"},
                                 std::pair{"BEAMLINE_USAGE", "beamline.usage.v1.>"}})
    {
        jsErrCode code;
        js_DeleteStream(filler.js, name, nullptr, &code);
        (void)subject;
    }
    filler.recreate_stream("BEAMLINE_RESULTS", "caf.exec.result.v1");
    filler.fill("caf.exec.result.v1", s.results);

    beamline::metrics::registry reg;
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) threads.emplace_back([&io] { io.run(); });
    nats::client_options o;
    o.servers = {s.url};
    o.name = "results-bench";
    auto core = nats::client::create(io.get_executor(), o);
    if (auto ec = asio::co_spawn(io, core->connect(), asio::use_future).get())
        throw std::runtime_error("connect: " + ec.message());

    app::results_service_config cfg;
    auto start = clock_type::now();
    auto service = app::results_service::create(io.get_executor(), core, cfg, reg);
    service->start();
    const auto& t = service->totals();
    auto deadline = start + 120s;
    while (t.acked.load() + t.duplicates.load() + t.dead_letters.load() < s.results && clock_type::now() < deadline)
        std::this_thread::sleep_for(1ms);
    double secs = std::chrono::duration<double>(clock_type::now() - start).count();
    auto done = t.acked.load();
    service->stop();
    core->close();
    guard.reset();
    io.stop();
    for (auto& th : threads) th.join();
    if (done != s.results)
        throw std::runtime_error("router acked " + std::to_string(done) + " of " + std::to_string(s.results));
    return static_cast<double>(s.results) / secs;
}

/// The same work with libnats only.
double run_libnats(const settings& s)
{
    libnats_conn c(s.url);
    c.recreate_stream("LN_RESULTS", "ln.exec.result.v1");
    c.recreate_stream("LN_USAGE", "ln.usage.v1.metered");
    c.fill("ln.exec.result.v1", s.results);

    auto start = clock_type::now();
    natsSubscription* sub = nullptr;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = "LN_RESULTS";
    jsErrCode code;
    check(js_PullSubscribe(&sub, c.js, "ln.exec.result.v1", "ln-results", nullptr, &so, &code), "pull subscribe");
    std::size_t acked = 0;
    while (acked < s.results)
    {
        natsMsgList list{};
        natsStatus st = natsSubscription_Fetch(&list, sub, 100, 5000, &code);
        if (st == NATS_TIMEOUT) break;
        check(st, "fetch");
        for (int i = 0; i < list.Count; ++i)
        {
            natsMsg* m = list.Msgs[i];
            std::string id(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
            auto at = id.find("bench-");
            std::string msg_id = "usage-acme-" + id.substr(at, id.find('"', at) - at);
            jsPubOptions po;
            jsPubOptions_Init(&po);
            po.MsgId = msg_id.c_str();
            std::string usage = R"({"version":"1","usage_id":")" + msg_id + R"(","tenant_id":"acme"})";
            check(js_PublishAsync(c.js, "ln.usage.v1.metered", usage.data(), static_cast<int>(usage.size()), &po),
                  "usage publish");
        }
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = 30000;
        check(js_PublishAsyncComplete(c.js, &po), "usage complete");
        for (int i = 0; i < list.Count; ++i)
        {
            check(natsMsg_Ack(list.Msgs[i], nullptr), "ack");
            ++acked;
        }
        natsMsgList_Destroy(&list);
    }
    double secs = std::chrono::duration<double>(clock_type::now() - start).count();
    natsSubscription_Destroy(sub);
    js_DeleteStream(c.js, "LN_RESULTS", nullptr, &code);
    js_DeleteStream(c.js, "LN_USAGE", nullptr, &code);
    if (acked != s.results)
        throw std::runtime_error("libnats acked " + std::to_string(acked) + " of " + std::to_string(s.results));
    return static_cast<double>(s.results) / secs;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv)
{
    settings s;
    for (int i = 1; i < argc; ++i)
    {
        std::string a = argv[i];
        auto next = [&]() -> std::string
        {
            if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
            return argv[++i];
        };
        if (a == "--url")
            s.url = next();
        else if (a == "--results")
            s.results = std::stoul(next());
        else if (a == "--rounds")
            s.rounds = std::stoi(next());
        else
        {
            std::fprintf(stderr, "usage: beamline_results_bench [--url URL] [--results N] [--rounds R]\n");
            return a == "--help" ? 0 : 2;
        }
    }
    try
    {
        std::vector<double> ours, theirs;
        for (int r = 0; r < s.rounds; ++r)
        {
            if (r % 2 == 0)
            {
                ours.push_back(run_router(s));
                theirs.push_back(run_libnats(s));
            }
            else
            {
                theirs.push_back(run_libnats(s));
                ours.push_back(run_router(s));
            }
            std::printf("round %d: router %.0f results/s, libnats %.0f results/s\n", r + 1, ours.back(), theirs.back());
        }
        double o = median(ours), t = median(theirs);
        std::printf("results end to end (consume, usage PubAck, ack), %zu results, median of %d rounds:\n"
                    "  router  %.0f results/s\n  libnats %.0f results/s\n  ratio   %.3f\n",
                    s.results, s.rounds, o, t, o / t);
        std::printf("{\"results\":%zu,\"rounds\":%d,\"router_results_per_s\":%.0f,\"libnats_results_per_s\":%.0f,"
                    "\"ratio\":%.4f}\n",
                    s.results, s.rounds, o, t, o / t);
    }
    catch (const std::exception& e)
    {
        std::fprintf(stderr, "results bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
