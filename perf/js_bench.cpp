// JetStream throughput of the project's client against libnats in the same run, over a
// nats-server with JetStream that the caller started:
//   publish: N messages of `size` bytes to a memory stream with up to `window` PubAcks
//            outstanding (ours: jetstream::async_publisher; libnats: js_PublishAsync with
//            PublishAsync.MaxPending = window, then js_PublishAsyncComplete). The time covers every
//            PubAck.
//   consume: N stored messages pulled in batches of `batch` by a fresh durable and acked one by
//            one (ours: pull_consumer; libnats: js_PullSubscribe + natsSubscription_Fetch).
// Rounds alternate which client goes first; the summary is the median over rounds. On a shared
// machine the figures are provisional: only the ratio measured side by side means something.
//
//   beamline_js_bench --url nats://127.0.0.1:4222 [--msgs 50000] [--size 128] [--window 256]
//                     [--batch 256] [--rounds 3]

#include "beamline/nats/jetstream/consumer.hpp"
#include "beamline/nats/jetstream/context.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
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
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* stream_name = "BENCH_JS";
constexpr const char* subject = "bench.js.msg";

struct settings
{
    std::string url = "nats://127.0.0.1:4222";
    std::size_t msgs = 50'000;
    std::size_t size = 128;
    std::size_t window = 256;
    std::size_t batch = 256;
    int rounds = 3;
};

double seconds_since(clock_type::time_point start)
{
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

void check(natsStatus s, const char* what)
{
    if (s != NATS_OK) throw std::runtime_error(std::string(what) + ": " + natsStatus_GetText(s));
}

// ---- ours ----

struct our_side
{
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
    std::thread runner{[this] { io.run(); }};
    std::shared_ptr<nats::client> core;
    std::unique_ptr<js::context> ctx;

    explicit our_side(const std::string& url)
    {
        nats::client_options o;
        o.servers = {url};
        o.name = "js-bench-ours";
        core = nats::client::create(io.get_executor(), o);
        if (auto ec = wait(core->connect())) throw std::runtime_error("connect: " + ec.message());
        ctx = std::make_unique<js::context>(io.get_executor(), core);
    }
    ~our_side()
    {
        core->close();
        guard.reset();
        runner.join();
    }
    template <class T>
    T wait(asio::awaitable<T> op)
    {
        return asio::co_spawn(io, std::move(op), asio::use_future).get();
    }
};

asio::awaitable<std::size_t> publish_all(js::async_publisher* pub, std::size_t n, std::string payload)
{
    for (std::size_t i = 0; i < n; ++i)
        co_await pub->publish(subject, payload);
    co_await pub->wait_all(60s);
    co_return pub->acked();
}

void reset_stream(our_side& ours)
{
    ours.wait(ours.ctx->delete_stream(stream_name));
    js::stream_config c;
    c.name = stream_name;
    c.subjects = {subject};
    c.storage = "memory";
    auto r = ours.wait(ours.ctx->create_stream(c));
    if (r.ec) throw std::runtime_error("create stream: " + r.error_text());
}

double ours_publish(our_side& ours, const settings& s)
{
    js::async_publisher pub(*ours.ctx, s.window);
    auto start = clock_type::now();
    std::size_t acked = ours.wait(publish_all(&pub, s.msgs, std::string(s.size, 'x')));
    double t = seconds_since(start);
    if (acked != s.msgs) throw std::runtime_error("ours: " + std::to_string(acked) + " PubAcks of " + std::to_string(s.msgs));
    return static_cast<double>(s.msgs) / t;
}

double ours_consume(our_side& ours, const settings& s, const std::string& durable)
{
    js::consumer_config c;
    c.durable_name = durable;
    c.max_ack_pending = -1;
    if (auto r = ours.wait(ours.ctx->create_consumer(stream_name, c)); r.ec)
        throw std::runtime_error("create consumer: " + r.error_text());
    std::mutex mutex;
    std::condition_variable done;
    std::atomic<std::size_t> received{0};
    std::atomic<bool> stopped{false};
    js::consume_events events;
    events.stopped = [&](std::error_code) { stopped = true; };
    events.message = [&](js::js_message m) {
        m.ack();
        if (received.fetch_add(1) + 1 == s.msgs)
        {
            std::lock_guard lock(mutex);
            done.notify_all();
        }
    };
    js::consume_options o;
    o.batch = s.batch;
    o.expires = 5s;
    auto start = clock_type::now();
    auto consumer = js::pull_consumer::create(*ours.ctx, stream_name, durable, o, events);
    if (auto ec = consumer->start()) throw std::runtime_error("consume: " + ec.message());
    {
        std::unique_lock lock(mutex);
        if (!done.wait_for(lock, 120s, [&] { return received.load() >= s.msgs; }))
            throw std::runtime_error("ours: consumed " + std::to_string(received.load()));
    }
    double t = seconds_since(start);
    consumer->stop();
    // Events run until `stopped`; they touch this frame's locals.
    while (!stopped.load())
        std::this_thread::sleep_for(1ms);
    return static_cast<double>(s.msgs) / t;
}

// ---- libnats ----

struct their_side
{
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;

    their_side(const std::string& url, std::size_t window)
    {
        check(natsConnection_ConnectTo(&nc, url.c_str()), "libnats connect");
        jsOptions o;
        jsOptions_Init(&o);
        o.PublishAsync.MaxPending = static_cast<int64_t>(window);
        check(natsConnection_JetStream(&js, nc, &o), "libnats JetStream");
    }
    ~their_side()
    {
        jsCtx_Destroy(js);
        natsConnection_Destroy(nc);
    }
};

double theirs_publish(their_side& theirs, const settings& s)
{
    std::string payload(s.size, 'x');
    auto start = clock_type::now();
    for (std::size_t i = 0; i < s.msgs; ++i)
        check(js_PublishAsync(theirs.js, subject, payload.data(), static_cast<int>(payload.size()), nullptr),
              "js_PublishAsync");
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 60000;
    check(js_PublishAsyncComplete(theirs.js, &po), "js_PublishAsyncComplete");
    return static_cast<double>(s.msgs) / seconds_since(start);
}

double theirs_consume(their_side& theirs, const settings& s, const std::string& durable)
{
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream_name;
    so.Config.MaxAckPending = -1;
    natsSubscription* sub = nullptr;
    auto start = clock_type::now();
    check(js_PullSubscribe(&sub, theirs.js, subject, durable.c_str(), nullptr, &so, nullptr), "js_PullSubscribe");
    std::size_t received = 0;
    while (received < s.msgs)
    {
        natsMsgList list{};
        natsStatus st = natsSubscription_Fetch(&list, sub, static_cast<int>(s.batch), 5000, nullptr);
        if (st != NATS_OK && st != NATS_TIMEOUT) check(st, "natsSubscription_Fetch");
        for (int i = 0; i < list.Count; ++i)
            natsMsg_Ack(list.Msgs[i], nullptr);
        received += static_cast<std::size_t>(list.Count);
        natsMsgList_Destroy(&list);
        if (seconds_since(start) > 120) throw std::runtime_error("libnats: consumed " + std::to_string(received));
    }
    double t = seconds_since(start);
    natsSubscription_Destroy(sub);
    return static_cast<double>(s.msgs) / t;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

settings parse(int argc, char** argv)
{
    settings s;
    for (int i = 1; i + 1 < argc; i += 2)
    {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--url") s.url = v;
        else if (k == "--msgs") s.msgs = std::stoul(v);
        else if (k == "--size") s.size = std::stoul(v);
        else if (k == "--window") s.window = std::stoul(v);
        else if (k == "--batch") s.batch = std::stoul(v);
        else if (k == "--rounds") s.rounds = std::stoi(v);
        else throw std::runtime_error("unknown option " + k);
    }
    return s;
}

} // namespace

int main(int argc, char** argv)
{
    try
    {
        settings s = parse(argc, argv);
        our_side ours(s.url);
        their_side theirs(s.url, s.window);
        std::vector<double> pub_ours, pub_theirs, con_ours, con_theirs;
        for (int round = 0; round < s.rounds; ++round)
        {
            bool ours_first = round % 2 == 0;
            auto publish = [&](bool mine) {
                reset_stream(ours);
                (mine ? pub_ours : pub_theirs).push_back(mine ? ours_publish(ours, s) : theirs_publish(theirs, s));
            };
            publish(ours_first);
            publish(!ours_first);
            // The stream now holds N messages: each side consumes them with a durable of its own.
            auto consume = [&](bool mine) {
                std::string durable = std::string(mine ? "ours" : "theirs") + std::to_string(round);
                (mine ? con_ours : con_theirs).push_back(mine ? ours_consume(ours, s, durable)
                                                             : theirs_consume(theirs, s, durable));
            };
            consume(ours_first);
            consume(!ours_first);
            std::printf("round %d: publish ours %.0f/s libnats %.0f/s | consume ours %.0f/s libnats %.0f/s\n", round,
                        pub_ours.back(), pub_theirs.back(), con_ours.back(), con_theirs.back());
        }
        double po = median(pub_ours), pt = median(pub_theirs), co = median(con_ours), ct = median(con_theirs);
        std::printf("\n%-28s %14s %14s %8s\n", "scenario (median msgs/s)", "ours", "libnats", "ratio");
        std::printf("%-28s %14.0f %14.0f %8.2f\n", "js publish async", po, pt, po / pt);
        std::printf("%-28s %14.0f %14.0f %8.2f\n", "js pull consume + ack", co, ct, co / ct);
        std::printf("{\"msgs\":%zu,\"size\":%zu,\"window\":%zu,\"batch\":%zu,\"publish_ours\":%.0f,\"publish_libnats\":%.0f,"
                    "\"consume_ours\":%.0f,\"consume_libnats\":%.0f}\n",
                    s.msgs, s.size, s.window, s.batch, po, pt, co, ct);
        ours.wait(ours.ctx->delete_stream(stream_name));
        return 0;
    }
    catch (const std::exception& e)
    {
        std::fprintf(stderr, "js_bench: %s\n", e.what());
        return 1;
    }
}
