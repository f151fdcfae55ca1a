// The project's NATS client against the official C client (libnats) in the same run, over a
// nats-server the caller started:
//   publish: N messages published as fast as the client takes them, then a flush (PING/PONG), so
//            the time covers the server having read every message; libnats in its default
//            buffered mode.
//   request: N sequential request/reply round trips to one libnats responder (its own connection
//            and thread, the same for both clients, so only the requester differs); ours through
//            `co_await request(...)`, libnats through natsConnection_Request with send-asap on
//            (the fair rival: it writes at once) and, for reference, off (its flusher first sleeps).
// Clients alternate A/B then B/A between rounds so neither always meets the same moment of a
// shared machine; the summary is the median over rounds. Prints a table and one JSON line.
//
//   beamline_nats_bench --url nats://127.0.0.1:4222 [--msgs 1000000] [--size 128]
//                       [--requests 10000] [--default-requests 2000] [--rounds 5]

#include "beamline/nats/client.hpp"
#include "discard_peer.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <nats/nats.h>
#include <sys/resource.h>
#include <unistd.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace
{

namespace asio = boost::asio;
namespace nats = beamline::nats;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* publish_subject = "bench.client.publish";
constexpr const char* echo_subject = "bench.client.echo";

struct settings
{
    std::string url = "nats://127.0.0.1:4222";
    std::size_t msgs = 1'000'000;
    std::size_t size = 128;
    std::size_t requests = 10'000;
    std::size_t default_requests = 2'000; ///< libnats without send-asap pays ~1 ms a request
    std::size_t warmup = 500;
    int rounds = 5;
    std::string only; ///< "publish" or "request" to run one scenario (for profiling); empty: both
    std::string client; ///< "ours" or "libnats" to run one client only (for profiling); empty: both
    std::size_t direct_write_bytes = beamline::nats::client_options{}.direct_write_bytes; ///< ours, for tuning
    std::size_t direct_write_wait_us =
        static_cast<std::size_t>(beamline::nats::client_options{}.direct_write_wait.count()); ///< ours, for tuning
    long server_pid = 0; ///< when set, the server's CPU time per publish run is reported too
    bool discard_peer = true; ///< also publish to a peer that discards, where the client is the limit
};

/// CPU seconds (user + system) this process has used so far, all threads.
double process_cpu_s()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto sec = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
    return sec(ru.ru_utime) + sec(ru.ru_stime);
}

/// CPU seconds another process has used so far (from /proc), or 0 when it cannot be read.
double other_cpu_s(long pid)
{
    if (pid <= 0) return 0;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    if (close == std::string::npos) return 0;
    // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
    std::istringstream fields(text.substr(close + 2));
    std::string f;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i)
    {
        if (i == 14) utime = std::stod(f);
        if (i == 15) stime = std::stod(f);
    }
    return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// What one publish run cost: its rate, and CPU microseconds per 1,000 messages in the client's
/// process and in the server, counted from the first publish to the flush's return (connecting
/// and closing are left out).
struct publish_figures
{
    double msgs_per_s = 0;
    double client_cpu_us_per_k = 0;
    double server_cpu_us_per_k = 0;
};

class publish_clock
{
public:
    explicit publish_clock(const settings& s) : s_(s) {}
    void start()
    {
        t0_ = clock_type::now();
        c0_ = process_cpu_s();
        v0_ = other_cpu_s(s_.server_pid);
    }
    publish_figures stop() const
    {
        std::chrono::duration<double> took = clock_type::now() - t0_;
        double c1 = process_cpu_s(), v1 = other_cpu_s(s_.server_pid);
        double per_k = 1e9 / static_cast<double>(s_.msgs);
        return {static_cast<double>(s_.msgs) / took.count(), (c1 - c0_) * per_k, (v1 - v0_) * per_k};
    }

private:
    const settings& s_;
    clock_type::time_point t0_;
    double c0_ = 0, v0_ = 0;
};

[[noreturn]] void fail(const std::string& what)
{
    throw std::runtime_error(what);
}

void check(natsStatus s, const char* what)
{
    if (s != NATS_OK)
        fail(std::string(what) + ": " + natsStatus_GetText(s) + " " + nats_GetLastError(nullptr));
}

struct latency
{
    double p50_us = 0, p90_us = 0, p99_us = 0, mean_us = 0;
};

latency summarize(std::vector<std::int64_t>& ns)
{
    latency out;
    if (ns.empty()) return out;
    std::sort(ns.begin(), ns.end());
    auto at = [&](double q)
    {
        auto rank = static_cast<std::size_t>(q * static_cast<double>(ns.size()) + 0.999999);
        return static_cast<double>(ns[std::clamp<std::size_t>(rank, 1, ns.size()) - 1]) / 1000.0;
    };
    out.p50_us = at(0.50);
    out.p90_us = at(0.90);
    out.p99_us = at(0.99);
    double sum = 0;
    for (auto v : ns)
        sum += static_cast<double>(v);
    out.mean_us = sum / static_cast<double>(ns.size()) / 1000.0;
    return out;
}

/// a/b, or 0 when a scenario did not run (keeps the JSON free of NaN).
double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

double median(std::vector<double> v)
{
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// --- libnats -------------------------------------------------------------------------------------

natsConnection* libnats_connect(const std::string& url, bool send_asap, const char* name)
{
    natsOptions* o = nullptr;
    check(natsOptions_Create(&o), "natsOptions_Create");
    check(natsOptions_SetURL(o, url.c_str()), "natsOptions_SetURL");
    check(natsOptions_SetName(o, name), "natsOptions_SetName");
    check(natsOptions_SetSendAsap(o, send_asap), "natsOptions_SetSendAsap");
    check(natsOptions_SetAllowReconnect(o, false), "natsOptions_SetAllowReconnect");
    natsConnection* nc = nullptr;
    natsStatus s = natsConnection_Connect(&nc, o);
    natsOptions_Destroy(o);
    check(s, "natsConnection_Connect");
    return nc;
}

void libnats_close(natsConnection* nc)
{
    natsConnection_Close(nc);
    natsConnection_Destroy(nc);
}

/// Answers every request with its own payload, on libnats's delivery thread for the subscription.
class responder
{
public:
    explicit responder(const std::string& url) : nc_(libnats_connect(url, true, "bench-responder"))
    {
        check(natsConnection_Subscribe(&sub_, nc_, echo_subject, &on_msg, nc_), "responder subscribe");
        check(natsConnection_FlushTimeout(nc_, 5000), "responder flush");
    }
    ~responder()
    {
        natsSubscription_Destroy(sub_);
        libnats_close(nc_);
    }
    responder(const responder&) = delete;
    responder& operator=(const responder&) = delete;

private:
    static void on_msg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure)
    {
        auto* nc = static_cast<natsConnection*>(closure);
        if (const char* reply = natsMsg_GetReply(msg))
            natsConnection_Publish(nc, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
        natsMsg_Destroy(msg);
    }

    natsConnection* nc_;
    natsSubscription* sub_ = nullptr;
};

/// Publishes s.msgs messages and has the server acknowledge a flush after them.
publish_figures libnats_publish(const settings& s, const std::string& url, const std::string& payload)
{
    natsConnection* nc = libnats_connect(url, false, "bench-libnats-publish");
    publish_clock clock(s);
    clock.start();
    for (std::size_t i = 0; i < s.msgs; ++i)
        check(natsConnection_Publish(nc, publish_subject, payload.data(), static_cast<int>(payload.size())),
              "natsConnection_Publish");
    check(natsConnection_FlushTimeout(nc, 60000), "natsConnection_FlushTimeout");
    publish_figures f = clock.stop();
    libnats_close(nc);
    return f;
}

latency libnats_request(const settings& s, const std::string& payload, bool send_asap, std::size_t n)
{
    natsConnection* nc = libnats_connect(s.url, send_asap, "bench-libnats-request");
    std::vector<std::int64_t> rtt;
    rtt.reserve(n);
    for (std::size_t i = 0; i < s.warmup + n; ++i)
    {
        natsMsg* reply = nullptr;
        auto t0 = clock_type::now();
        check(natsConnection_Request(&reply, nc, echo_subject, payload.data(),
                                     static_cast<int>(payload.size()), 5000),
              "natsConnection_Request");
        auto t1 = clock_type::now();
        if (natsMsg_GetDataLength(reply) != static_cast<int>(payload.size())) fail("libnats: short reply");
        natsMsg_Destroy(reply);
        if (i >= s.warmup)
            rtt.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    }
    libnats_close(nc);
    return summarize(rtt);
}

// --- ours ----------------------------------------------------------------------------------------

/// Our client on one I/O thread of its own, as an application would run it; the caller's thread
/// publishes, as libnats's caller does.
class ours_runtime
{
public:
    ours_runtime() : guard_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
    ~ours_runtime()
    {
        guard_.reset();
        thread_.join();
    }
    ours_runtime(const ours_runtime&) = delete;
    ours_runtime& operator=(const ours_runtime&) = delete;

    asio::io_context& io() { return io_; }

    std::shared_ptr<nats::client> connect(const std::string& url, const char* name, const settings& s)
    {
        nats::client_options o;
        o.direct_write_bytes = s.direct_write_bytes;
        o.direct_write_wait = std::chrono::microseconds(s.direct_write_wait_us);
        o.servers = {url};
        o.name = name;
        o.allow_reconnect = false;
        o.no_randomize = true;
        auto c = nats::client::create(io_.get_executor(), o);
        if (auto ec = asio::co_spawn(io_, c->connect(), asio::use_future).get())
            fail("ours: connect: " + c->last_error_text());
        return c;
    }

    static void close(const std::shared_ptr<nats::client>& c)
    {
        c->close();
        while (c->state() != nats::connection_state::closed)
            std::this_thread::sleep_for(1ms);
    }

private:
    asio::io_context io_{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    std::thread thread_;
};

/// Publishes s.msgs messages and has the server acknowledge a flush after them.
publish_figures ours_publish(ours_runtime& rt, const settings& s, const std::string& url, const std::string& payload)
{
    auto c = rt.connect(url, "bench-ours-publish", s);
    publish_clock clock(s);
    clock.start();
    for (std::size_t i = 0; i < s.msgs; ++i)
    {
        // A full outbound buffer is back-pressure, as libnats's blocking write is: wait and retry.
        while (auto ec = c->publish(publish_subject, payload))
        {
            if (ec != nats::errc::pending_buffer_exceeded) fail("ours: publish: " + ec.message());
            std::this_thread::yield();
        }
    }
    if (auto ec = asio::co_spawn(rt.io(), c->flush(60s), asio::use_future).get())
        fail("ours: flush: " + ec.message());
    publish_figures f = clock.stop();
    ours_runtime::close(c);
    return f;
}

latency ours_request(ours_runtime& rt, const settings& s, const std::string& payload)
{
    auto c = rt.connect(s.url, "bench-ours-request", s);
    std::vector<std::int64_t> rtt;
    rtt.reserve(s.requests);
    auto run = [&]() -> asio::awaitable<void>
    {
        for (std::size_t i = 0; i < s.warmup + s.requests; ++i)
        {
            auto t0 = clock_type::now();
            auto [ec, reply] = co_await c->request(echo_subject, payload, 5s);
            auto t1 = clock_type::now();
            if (ec) fail("ours: request: " + ec.message());
            if (reply.payload().size() != payload.size()) fail("ours: short reply");
            if (i >= s.warmup)
                rtt.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
        }
    };
    asio::co_spawn(rt.io(), run, asio::use_future).get();
    ours_runtime::close(c);
    return summarize(rtt);
}

// --- driver --------------------------------------------------------------------------------------

bool parse_size(const char* text, std::size_t& out)
{
    auto end = text + std::strlen(text);
    auto r = std::from_chars(text, end, out);
    return r.ec == std::errc{} && r.ptr == end;
}

settings parse_args(int argc, char** argv)
{
    settings s;
    for (int i = 1; i < argc; ++i)
    {
        std::string arg = argv[i];
        if (arg == "-h" || arg == "--help")
        {
            std::puts("beamline_nats_bench --url URL [--msgs N] [--size BYTES] [--requests N]\n"
                      "                    [--default-requests N] [--warmup N] [--rounds N]\n"
                      "                    [--only publish|request] [--client ours|libnats] [--server-pid PID]\n"
                      "                    [--direct-write-bytes N] [--direct-write-wait-us N] [--discard-peer on|off]");
            std::exit(0);
        }
        if (i + 1 >= argc) fail(arg + " needs a value");
        const char* v = argv[++i];
        std::size_t n = 0;
        if (arg == "--url")
            s.url = v;
        else if (arg == "--only")
            s.only = v;
        else if (arg == "--client")
            s.client = v;
        else if (arg == "--discard-peer")
            s.discard_peer = v == std::string("on");
        else if (!parse_size(v, n))
            fail(arg + ": not a number: '" + v + "'");
        else if (arg == "--msgs")
            s.msgs = n;
        else if (arg == "--size")
            s.size = n;
        else if (arg == "--requests")
            s.requests = n;
        else if (arg == "--default-requests")
            s.default_requests = n;
        else if (arg == "--warmup")
            s.warmup = n;
        else if (arg == "--rounds")
            s.rounds = static_cast<int>(n);
        else if (arg == "--direct-write-bytes")
            s.direct_write_bytes = n;
        else if (arg == "--direct-write-wait-us")
            s.direct_write_wait_us = n;
        else if (arg == "--server-pid")
            s.server_pid = static_cast<long>(n);
        else
            fail("unknown option " + arg);
    }
    if (s.msgs == 0 || s.requests == 0 || s.rounds <= 0)
        fail("--msgs, --requests and --rounds must be positive");
    return s;
}

struct round_figures
{
    publish_figures ours_pub, lib_pub;
    publish_figures ours_discard, lib_discard; ///< to the discarding peer (--discard-peer)
    latency ours_req, lib_asap, lib_default;
};

std::string fmt(const char* f, double v)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string latency_json(double p50, double p90, double p99, double mean)
{
    return "{\"p50_us\":" + fmt("%.2f", p50) + ",\"p90_us\":" + fmt("%.2f", p90) +
           ",\"p99_us\":" + fmt("%.2f", p99) + ",\"mean_us\":" + fmt("%.2f", mean) + "}";
}

int run(int argc, char** argv)
{
    settings s = parse_args(argc, argv);
    check(nats_Open(-1), "nats_Open");
    std::string payload(s.size, 'x');
    std::vector<round_figures> rounds;
    {
        responder echo(s.url);
        ours_runtime rt;
        std::unique_ptr<beamline::perf::discard_peer> sink;
        if (s.discard_peer) sink = std::make_unique<beamline::perf::discard_peer>();
        std::string sink_url = sink ? "nats://127.0.0.1:" + std::to_string(sink->port()) : "";
        for (int r = 0; r < s.rounds; ++r)
        {
            round_figures f;
            bool ours_first = r % 2 == 0;
            if (s.only != "request")
            {
                bool run_ours = s.client != "libnats", run_lib = s.client != "ours";
                auto pair = [&](const std::string& url, publish_figures& o, publish_figures& l)
                {
                    if (ours_first && run_ours) o = ours_publish(rt, s, url, payload);
                    if (run_lib) l = libnats_publish(s, url, payload);
                    if (!ours_first && run_ours) o = ours_publish(rt, s, url, payload);
                };
                pair(s.url, f.ours_pub, f.lib_pub);
                if (sink)
                {
                    // Every message must have reached the peer: a count is not a rate otherwise.
                    std::uint64_t before = sink->frames();
                    pair(sink_url, f.ours_discard, f.lib_discard);
                    std::uint64_t expected = s.msgs * ((run_ours ? 1 : 0) + (run_lib ? 1 : 0));
                    if (sink->frames() - before != expected)
                        fail("discarding peer took " + std::to_string(sink->frames() - before) + " frames, not " +
                             std::to_string(expected));
                }
            }
            if (s.only != "publish")
            {
                f.ours_req = ours_first ? ours_request(rt, s, payload) : latency{};
                f.lib_asap = libnats_request(s, payload, true, s.requests);
                if (!ours_first) f.ours_req = ours_request(rt, s, payload);
            }
            if (s.default_requests > 0 && s.only != "publish")
                f.lib_default = libnats_request(s, payload, false, s.default_requests);
            std::fprintf(
                stderr,
                "round %d: publish ours %.0f libnats %.0f msgs/s; request p50 ours %.1f libnats-asap %.1f "
                "libnats-default %.1f us\n",
                r + 1, f.ours_pub.msgs_per_s, f.lib_pub.msgs_per_s, f.ours_req.p50_us, f.lib_asap.p50_us, f.lib_default.p50_us);
            rounds.push_back(f);
        }
    }
    nats_Close();

    auto med = [&](auto get)
    {
        std::vector<double> v;
        for (const auto& f : rounds)
            v.push_back(get(f));
        return median(v);
    };
    double ours_pub = med([](const round_figures& f) { return f.ours_pub.msgs_per_s; });
    double lib_pub = med([](const round_figures& f) { return f.lib_pub.msgs_per_s; });
    double ours_cpu = med([](const round_figures& f) { return f.ours_pub.client_cpu_us_per_k; });
    double lib_cpu = med([](const round_figures& f) { return f.lib_pub.client_cpu_us_per_k; });
    double ours_disc = med([](const round_figures& f) { return f.ours_discard.msgs_per_s; });
    double lib_disc = med([](const round_figures& f) { return f.lib_discard.msgs_per_s; });
    double disc_ratio =
        med([](const round_figures& f) { return ratio(f.ours_discard.msgs_per_s, f.lib_discard.msgs_per_s); });
    double ours_disc_cpu = med([](const round_figures& f) { return f.ours_discard.client_cpu_us_per_k; });
    double lib_disc_cpu = med([](const round_figures& f) { return f.lib_discard.client_cpu_us_per_k; });
    double ours_srv = med([](const round_figures& f) { return f.ours_pub.server_cpu_us_per_k; });
    double lib_srv = med([](const round_figures& f) { return f.lib_pub.server_cpu_us_per_k; });
    auto lat = [&](latency round_figures::*which)
    {
        return latency{med([&](const round_figures& f) { return (f.*which).p50_us; }),
                       med([&](const round_figures& f) { return (f.*which).p90_us; }),
                       med([&](const round_figures& f) { return (f.*which).p99_us; }),
                       med([&](const round_figures& f) { return (f.*which).mean_us; })};
    };
    latency ours_req = lat(&round_figures::ours_req);
    latency lib_asap = lat(&round_figures::lib_asap);
    latency lib_default = lat(&round_figures::lib_default);
    // Ratios per round, then their median: each round's two figures met the same machine.
    double pub_ratio =
        med([](const round_figures& f) { return ratio(f.ours_pub.msgs_per_s, f.lib_pub.msgs_per_s); });
    double p50_ratio =
        med([](const round_figures& f) { return ratio(f.ours_req.p50_us, f.lib_asap.p50_us); });
    double p99_ratio =
        med([](const round_figures& f) { return ratio(f.ours_req.p99_us, f.lib_asap.p99_us); });

    std::printf("\nNATS client benchmark: %d rounds, medians; %zu-byte payloads\n", s.rounds, s.size);
    std::printf("%-34s %14s %14s %14s %10s\n", "", "ours", "libnats-asap", "libnats-dflt", "ours/asap");
    std::printf("%-34s %14.0f %14s %14.0f %10.3f\n",
                ("publish msgs/s (" + std::to_string(s.msgs) + " msgs)").c_str(), ours_pub, "-", lib_pub,
                pub_ratio);
    std::printf("%-34s %14.0f %14s %14.0f %10.3f\n", "publish client CPU us/1k msgs", ours_cpu, "-", lib_cpu,
                ratio(ours_cpu, lib_cpu));
    if (s.server_pid > 0)
        std::printf("%-34s %14.0f %14s %14.0f %10.3f\n", "publish server CPU us/1k msgs", ours_srv, "-", lib_srv,
                    ratio(ours_srv, lib_srv));
    if (s.discard_peer)
    {
        std::printf("%-34s %14.0f %14s %14.0f %10.3f\n", "publish to discarding peer msgs/s", ours_disc, "-",
                    lib_disc, disc_ratio);
        std::printf("%-34s %14.0f %14s %14.0f %10.3f\n", "  client CPU us/1k msgs", ours_disc_cpu, "-",
                    lib_disc_cpu, ratio(ours_disc_cpu, lib_disc_cpu));
    }
    std::printf("%-34s %14.1f %14.1f %14.1f %10.3f\n", "request p50 us", ours_req.p50_us, lib_asap.p50_us,
                lib_default.p50_us, p50_ratio);
    std::printf("%-34s %14.1f %14.1f %14.1f %10.3f\n", "request p90 us", ours_req.p90_us, lib_asap.p90_us,
                lib_default.p90_us, ratio(ours_req.p90_us, lib_asap.p90_us));
    std::printf("%-34s %14.1f %14.1f %14.1f %10.3f\n", "request p99 us", ours_req.p99_us, lib_asap.p99_us,
                lib_default.p99_us, p99_ratio);
    std::printf(
        "(publish ratio is ours/libnats default buffered mode; latency ratios ours/libnats send-asap)\n");

    std::string json =
        "{\"bench\":\"nats_client\",\"rounds\":" + std::to_string(s.rounds) +
        ",\"msgs\":" + std::to_string(s.msgs) + ",\"size\":" + std::to_string(s.size) +
        ",\"requests\":" + std::to_string(s.requests) +
        ",\"default_requests\":" + std::to_string(s.default_requests) +
        ",\"publish\":{\"ours_msgs_per_s\":" + fmt("%.0f", ours_pub) +
        ",\"libnats_msgs_per_s\":" + fmt("%.0f", lib_pub) +
        ",\"ratio_ours_libnats\":" + fmt("%.4f", pub_ratio) +
        ",\"ours_client_cpu_us_per_1k\":" + fmt("%.1f", ours_cpu) +
        ",\"libnats_client_cpu_us_per_1k\":" + fmt("%.1f", lib_cpu) +
        ",\"ours_server_cpu_us_per_1k\":" + fmt("%.1f", ours_srv) +
        ",\"libnats_server_cpu_us_per_1k\":" + fmt("%.1f", lib_srv) + "},\"publish_discarding_peer\":{" +
        "\"ours_msgs_per_s\":" + fmt("%.0f", ours_disc) + ",\"libnats_msgs_per_s\":" + fmt("%.0f", lib_disc) +
        ",\"ratio_ours_libnats\":" + fmt("%.4f", disc_ratio) +
        ",\"ours_client_cpu_us_per_1k\":" + fmt("%.1f", ours_disc_cpu) +
        ",\"libnats_client_cpu_us_per_1k\":" + fmt("%.1f", lib_disc_cpu) + "},\"request\":{\"ours\":" +
        latency_json(ours_req.p50_us, ours_req.p90_us, ours_req.p99_us, ours_req.mean_us) +
        ",\"libnats_asap\":" +
        latency_json(lib_asap.p50_us, lib_asap.p90_us, lib_asap.p99_us, lib_asap.mean_us) +
        ",\"libnats_default\":" +
        latency_json(lib_default.p50_us, lib_default.p90_us, lib_default.p99_us, lib_default.mean_us) +
        ",\"ratio_p50_ours_libnats_asap\":" + fmt("%.4f", p50_ratio) +
        ",\"ratio_p99_ours_libnats_asap\":" + fmt("%.4f", p99_ratio) + "},\"per_round\":[";
    for (std::size_t i = 0; i < rounds.size(); ++i)
    {
        const auto& f = rounds[i];
        json += (i ? "," : "") + std::string("{\"ours_pub\":") + fmt("%.0f", f.ours_pub.msgs_per_s) +
                ",\"libnats_pub\":" + fmt("%.0f", f.lib_pub.msgs_per_s) +
                ",\"ours_p50_us\":" + fmt("%.2f", f.ours_req.p50_us) +
                ",\"libnats_asap_p50_us\":" + fmt("%.2f", f.lib_asap.p50_us) +
                ",\"libnats_default_p50_us\":" + fmt("%.2f", f.lib_default.p50_us) + "}";
    }
    json += "],\"pass\":{\"publish\":" + std::string(pub_ratio >= 1.0 ? "true" : "false") +
            ",\"request_p50\":" + std::string(p50_ratio <= 1.2 ? "true" : "false") + "}}";
    std::printf("%s\n", json.c_str());
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    try
    {
        return run(argc, argv);
    }
    catch (const std::exception& e)
    {
        std::fprintf(stderr, "beamline_nats_bench: %s\n", e.what());
        return 1;
    }
}
