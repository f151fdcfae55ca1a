// beamline_loadgen: drives request/reply over NATS and prints one JSON object of figures.
//
// Closed loop (--inflight N): N requests are always outstanding; each reply sends the next one.
// Open loop (--rate R): requests are sent on a fixed schedule whatever the replies do, and latency
// is measured from each request's intended send time, so a stall shows up in the percentiles
// instead of silently slowing the sender (coordinated omission).
//
// Requests are published with a reply subject <inbox>.<slot>.<epoch> under one wildcard
// subscription, so the library's reply thread does the matching with no per-request allocation
// and no thread per outstanding request. The epoch changes only when a request is abandoned, so
// a closed loop keeps reusing N reply subjects (request_slots.hpp says why that matters).
//
// Replies are classified (reply_kind.hpp): accepted, refused `overloaded` by the router's
// backpressure, or another error. "latency_us" is over every reply, as the perf gate has always
// judged it; "accepted_latency_us" and "overloaded_latency_us" split it, so an overload run can
// judge the accepted requests' tail on its own. "sending_ended_unix_ms" is when the last request
// was sent, on the wall clock: the moment an overload's recovery is timed from.

#include "bench_nats.hpp"
#include "histogram.hpp"
#include "loadgen_options.hpp"
#include "process_cpu.hpp"
#include "reply_kind.hpp"
#include "request_slots.hpp"

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nats/nats.h>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace
{

using namespace beamline::perf;

std::int64_t now_ns()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

class LoadGenerator
{
public:
    LoadGenerator(const Config& config, natsConnection* connection)
        : config_(config), connection_(connection), target_count_(config.targets.size()),
          slots_(config.inflight > 0 ? config.inflight * target_count_ : open_loop_slot_count(config)),
          stats_(target_count_)
    {
        for (const auto& [label, pid] : config.cpu_pids)
            cpu_.watch(label, pid);
    }

    bool start_subscription()
    {
        natsInbox* inbox = nullptr;
        if (natsInbox_Create(&inbox) != NATS_OK) return false;
        inbox_ = inbox;
        natsInbox_Destroy(inbox);
        const std::string wildcard = inbox_ + ".>";
        natsStatus status =
            natsConnection_Subscribe(&subscription_, connection_, wildcard.c_str(), on_reply, this);
        if (status == NATS_OK) status = natsSubscription_SetPendingLimits(subscription_, -1, -1);
        if (status == NATS_OK) status = natsConnection_Flush(connection_);
        if (status != NATS_OK)
            std::fprintf(stderr, "error: reply subscription: %s\n", natsStatus_GetText(status));
        return status == NATS_OK;
    }

    void run()
    {
        epoch_ = now_ns();
        measure_begin_ = epoch_ + seconds_to_ns(config_.warmup_s);
        measure_end_ = measure_begin_ + seconds_to_ns(config_.duration_s);
        std::thread open_loop_sender;
        if (config_.inflight > 0)
            for (std::uint32_t slot = 0; slot < slots_.size(); ++slot)
            {
                SlotState previous;
                send(slot, slots_.claim(slot, elapsed(), previous));
            }
        else
            open_loop_sender = std::thread([this] { send_on_schedule(); });

        // This thread expires requests that got no reply; in a closed loop the slot is refilled.
        const std::int64_t timeout = seconds_to_ns(config_.timeout_s);
        bool window_open = false;
        for (std::int64_t now = now_ns(); now < measure_end_; now = now_ns())
        {
            if (!window_open && now >= measure_begin_)
            {
                cpu_window_begin_ = now;
                cpu_.begin();
                window_open = true;
            }
            expire_older_than(timeout, config_.inflight > 0);
            const std::int64_t next =
                window_open ? now + 20'000'000 : std::min(now + 20'000'000, measure_begin_);
            std::this_thread::sleep_for(std::chrono::nanoseconds(std::max<std::int64_t>(0, next - now_ns())));
        }
        if (!window_open)
        {
            cpu_window_begin_ = now_ns();
            cpu_.begin();
        }
        cpu_.end();
        cpu_window_end_ = now_ns();
        sending_.store(false, std::memory_order_release);
        sending_ended_unix_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
        if (open_loop_sender.joinable()) open_loop_sender.join();
        const std::int64_t drain_deadline = now_ns() + timeout;
        while (slots_.busy_count() > 0 && now_ns() < drain_deadline)
        {
            expire_older_than(timeout, false);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        expire_older_than(-1, false);
        // Draining waits until the reply callback has returned for the last time, so the
        // histogram is no longer written when the report reads it.
        if (natsSubscription_Drain(subscription_) == NATS_OK)
            natsSubscription_WaitForDrainCompletion(subscription_, 5000);
        natsSubscription_Destroy(subscription_);
    }

    void print_report() const
    {
        std::printf("{\"mode\":\"%s\",\"inflight\":%u,\"rate\":%.0f,\"duration_s\":%.3f,"
                    "\"warmup_s\":%.3f,\"cpu_window_s\":%.3f,\"sending_ended_unix_ms\":%lld,"
                    "\"cpu_us\":%s,\"targets\":[",
                    config_.inflight > 0 ? "closed" : "open", config_.inflight, config_.rate,
                    config_.duration_s, config_.warmup_s, double(cpu_window_end_ - cpu_window_begin_) / 1e9,
                    static_cast<long long>(sending_ended_unix_ms_), cpu_.json().c_str());
        for (std::size_t i = 0; i < target_count_; ++i)
            print_target(i, i + 1 < target_count_ ? "," : "");
        std::printf("]}\n");
    }

private:
    struct TargetStats
    {
        // Recorded only by the reply thread, read after it has stopped.
        LatencyHistogram histogram;
        LatencyHistogram accepted_histogram;
        LatencyHistogram overloaded_histogram;
        std::atomic<std::uint64_t> sent{0};
        std::atomic<std::uint64_t> ok{0};
        std::atomic<std::uint64_t> bad_replies{0}; ///< overloaded ones included
        std::atomic<std::uint64_t> overloaded{0};
        std::atomic<std::uint64_t> timeouts{0};
        std::atomic<std::uint64_t> publish_failures{0};
        std::atomic<std::uint64_t> late_replies{0};
    };

    static unsigned long long ull(std::uint64_t v) { return static_cast<unsigned long long>(v); }

    // Request i and slot i both belong to target i mod T (the slot ring is a multiple of T).
    TargetStats& stats_of(std::uint32_t slot) { return stats_[slot % target_count_]; }

    static std::string latency_json(const LatencyHistogram& h)
    {
        auto us = [](std::uint64_t ns) { return double(ns) / 1000.0; };
        char buffer[256];
        const int n = std::snprintf(buffer, sizeof buffer,
                                    "{\"p50\":%.1f,\"p95\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,"
                                    "\"mean\":%.1f}",
                                    us(h.value_at_quantile(0.50)), us(h.value_at_quantile(0.95)),
                                    us(h.value_at_quantile(0.99)), us(h.value_at_quantile(0.999)), us(h.max()),
                                    h.mean() / 1000.0);
        return std::string(buffer, static_cast<std::size_t>(std::max(0, n)));
    }

    void print_target(std::size_t index, const char* separator) const
    {
        const TargetStats& t = stats_[index];
        const double seconds = config_.duration_s;
        const std::uint64_t ok = t.ok.load();
        const std::uint64_t bad = t.bad_replies.load();
        const std::uint64_t timeouts = t.timeouts.load();
        const std::uint64_t failed = t.publish_failures.load();
        const std::uint64_t sent = t.sent.load();
        const std::uint64_t overloaded = t.overloaded.load();
        std::printf("{\"target\":\"%s\",\"subject\":\"%s\",\"sent\":%llu,\"replies\":%llu,"
                    "\"ok\":%llu,\"errors\":%llu,\"bad_replies\":%llu,\"overloaded\":%llu,"
                    "\"other_errors\":%llu,\"timeouts\":%llu,"
                    "\"publish_failures\":%llu,\"late_replies\":%llu,\"throughput_rps\":%.1f,"
                    "\"achieved_send_rps\":%.1f,\"latency_us\":%s,\"accepted_latency_us\":%s,"
                    "\"overloaded_latency_us\":%s}%s",
                    config_.targets[index].label.c_str(), config_.targets[index].subject.c_str(), ull(sent),
                    ull(t.histogram.count()), ull(ok), ull(bad + timeouts + failed), ull(bad), ull(overloaded),
                    ull(bad - overloaded + timeouts + failed), ull(timeouts), ull(failed),
                    ull(t.late_replies.load()), seconds > 0 ? double(ok) / seconds : 0.0,
                    seconds > 0 ? double(sent) / seconds : 0.0, latency_json(t.histogram).c_str(),
                    latency_json(t.accepted_histogram).c_str(), latency_json(t.overloaded_histogram).c_str(),
                    separator);
    }

    static std::int64_t seconds_to_ns(double seconds) { return static_cast<std::int64_t>(seconds * 1e9); }

    // Enough ring slots that a slot comes round again only after its request has timed out.
    static std::size_t open_loop_slot_count(const Config& config)
    {
        const std::size_t targets = config.targets.size();
        const double needed = config.rate * double(targets) * (config.timeout_s + 1.0) * 1.25;
        const auto slots = static_cast<std::size_t>(std::max(1024.0, std::ceil(needed)));
        return (slots + targets - 1) / targets * targets;
    }

    std::uint64_t elapsed() const { return static_cast<std::uint64_t>(now_ns() - epoch_); }

    bool in_window(std::uint64_t sent_at) const
    {
        const std::int64_t absolute = epoch_ + static_cast<std::int64_t>(sent_at);
        return absolute >= measure_begin_ && absolute < measure_end_;
    }

    void send(std::uint32_t slot, SlotState state)
    {
        thread_local std::string request;
        thread_local std::string reply_to;
        char digits[16];
        reply_to.assign(inbox_);
        reply_to.push_back('.');
        reply_to.append(digits, std::to_chars(digits, digits + sizeof digits, slot).ptr);
        reply_to.push_back('.');
        reply_to.append(digits, std::to_chars(digits, digits + sizeof digits, slots_.reply_epoch(slot)).ptr);

        const char* body = config_.payload.data();
        std::size_t length = config_.payload.size();
        if (config_.payload.empty())
        {
            const std::uint64_t sequence = sequence_.fetch_add(1, std::memory_order_relaxed);
            format_request(request, sequence);
            body = request.data();
            length = request.size();
        }
        TargetStats& stats = stats_of(slot);
        if (in_window(state.sent_at())) stats.sent.fetch_add(1, std::memory_order_relaxed);
        const std::string& subject = config_.targets[slot % target_count_].subject;
        if (natsConnection_PublishRequest(connection_, subject.c_str(), reply_to.c_str(), body,
                                          static_cast<int>(length)) != NATS_OK)
        {
            // The request never left, so it cannot be answered: release its slot now.
            SlotState idle;
            if (slots_.complete(slot, state, false, 0, idle) && in_window(state.sent_at()))
                stats.publish_failures.fetch_add(1, std::memory_order_relaxed);
        }
    }

    // Tenants cycle so every policy is hit; users are scattered so sticky sessions both hit and miss.
    void format_request(std::string& out, std::uint64_t sequence) const
    {
        char buffer[512];
        const unsigned long long user = (sequence * 2654435761ULL) % config_.users;
        const int n =
            std::snprintf(buffer, sizeof buffer,
                          R"({"version":"1","request_id":"r-%llu","tenant_id":"t-%llu","policy_id":"%s",)"
                          R"("task":{"type":"text.generate","payload":{"prompt":"hi"}},)"
                          R"("metadata":{"user_id":"u-%llu"}})",
                          ull(sequence), ull(config_.tenant_offset + sequence % config_.tenants),
                          config_.policy_id.c_str(), user);
        out.assign(buffer, static_cast<std::size_t>(std::max(0, n)));
        if (config_.idempotent && !out.empty())
        {
            // Unique to this run (the start time) and this generator (its label), so a record kept
            // from an earlier run or another generator is never replayed.
            out.pop_back();
            out += R"(,"idempotency_key":"k-)" + std::to_string(epoch_) + "-" + config_.label + "-" +
                   std::to_string(sequence) + "\"}";
        }
    }

    void send_on_schedule()
    {
        const double interval_ns = 1e9 / (config_.rate * double(target_count_));
        std::uint64_t issued = 0;
        const std::size_t ring = slots_.size();
        while (sending_.load(std::memory_order_acquire))
        {
            const std::int64_t now = now_ns();
            if (now >= measure_end_) break;
            const auto due = static_cast<std::uint64_t>(double(now - epoch_) / interval_ns) + 1;
            for (; issued < due; ++issued)
            {
                const auto intended = static_cast<std::uint64_t>(double(issued) * interval_ns);
                const auto slot = static_cast<std::uint32_t>(issued % ring);
                // The ring came round to a request still unanswered: it has timed out.
                if (const SlotState old = slots_.load(slot);
                    old.busy() && slots_.abandon(slot, old) && in_window(old.sent_at()))
                    stats_of(slot).timeouts.fetch_add(1, std::memory_order_relaxed);
                SlotState previous;
                send(slot, slots_.claim(slot, intended, previous));
            }
            const auto next = epoch_ + static_cast<std::int64_t>(double(issued) * interval_ns);
            const std::int64_t wait = next - now_ns();
            if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
        }
    }

    void expire_older_than(std::int64_t timeout_ns, bool refill)
    {
        const std::uint64_t now = elapsed();
        for (std::uint32_t slot = 0; slot < slots_.size(); ++slot)
        {
            const SlotState state = slots_.load(slot);
            if (!state.busy()) continue;
            // A slot claimed after `now` was read is younger than any timeout.
            if (timeout_ns >= 0 &&
                (state.sent_at() > now || now - state.sent_at() < static_cast<std::uint64_t>(timeout_ns)))
                continue;
            if (!slots_.abandon(slot, state)) continue; // the reply won the race
            if (in_window(state.sent_at())) stats_of(slot).timeouts.fetch_add(1, std::memory_order_relaxed);
            if (refill && sending_.load(std::memory_order_acquire))
            {
                SlotState previous;
                send(slot, slots_.claim(slot, elapsed(), previous));
            }
        }
    }

    static void on_reply(natsConnection*, natsSubscription*, natsMsg* message, void* closure)
    {
        static_cast<LoadGenerator*>(closure)->handle_reply(message);
        natsMsg_Destroy(message);
    }

    void handle_reply(natsMsg* message)
    {
        const std::uint64_t now = elapsed();
        std::uint32_t slot = 0;
        std::uint32_t epoch = 0;
        if (!parse_reply_subject(natsMsg_GetSubject(message), slot, epoch) || slot >= slots_.size()) return;
        SlotState state;
        if (!slots_.request_answered_by(slot, epoch, state))
        {
            stats_of(slot).late_replies.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        const bool resend = config_.inflight > 0 && sending_.load(std::memory_order_acquire) &&
                            epoch_ + static_cast<std::int64_t>(now) < measure_end_;
        SlotState next;
        if (!slots_.complete(slot, state, resend, now, next))
        {
            stats_of(slot).late_replies.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        if (in_window(state.sent_at()))
        {
            TargetStats& stats = stats_of(slot);
            const std::uint64_t latency = now - state.sent_at();
            stats.histogram.record(latency);
            const std::string_view data(natsMsg_GetData(message),
                                        static_cast<std::size_t>(natsMsg_GetDataLength(message)));
            // The server answers "503 no responders" itself when nobody subscribes: never a success.
            const ReplyKind kind =
                natsMsg_IsNoResponders(message) ? ReplyKind::other_error : classify_reply(data, config_.check_ok);
            if (kind == ReplyKind::ok)
            {
                stats.ok.fetch_add(1, std::memory_order_relaxed);
                stats.accepted_histogram.record(latency);
            }
            else
            {
                stats.bad_replies.fetch_add(1, std::memory_order_relaxed);
                if (kind == ReplyKind::overloaded)
                {
                    stats.overloaded.fetch_add(1, std::memory_order_relaxed);
                    stats.overloaded_histogram.record(latency);
                }
            }
        }
        if (resend) send(slot, next);
    }

    bool parse_reply_subject(const char* subject, std::uint32_t& slot, std::uint32_t& epoch) const
    {
        const std::string_view text(subject);
        if (text.size() <= inbox_.size() + 1) return false;
        const char* first = text.data() + inbox_.size() + 1;
        const char* last = text.data() + text.size();
        auto [dot, ec] = std::from_chars(first, last, slot);
        if (ec != std::errc() || dot == last || *dot != '.') return false;
        auto [end, ec2] = std::from_chars(dot + 1, last, epoch);
        return ec2 == std::errc() && end == last;
    }

    const Config& config_;
    natsConnection* connection_;
    std::size_t target_count_;
    RequestSlots slots_;
    std::string inbox_;
    natsSubscription* subscription_ = nullptr;
    std::int64_t epoch_ = 0;
    std::int64_t measure_begin_ = 0;
    std::int64_t measure_end_ = 0;
    std::atomic<bool> sending_{true};
    std::atomic<std::uint64_t> sequence_{0};
    std::vector<TargetStats> stats_;
    CpuWindow cpu_;
    std::int64_t cpu_window_begin_ = 0;
    std::int64_t cpu_window_end_ = 0;
    // Wall clock, so a script can time what follows the load (an overload's recovery) against it.
    std::int64_t sending_ended_unix_ms_ = 0;
};

// Sends one request at a time until one is answered (ok, if --check-ok), up to `seconds`.
bool wait_until_ready(const Config& config, const std::string& subject, natsConnection* connection)
{
    const std::int64_t deadline = now_ns() + static_cast<std::int64_t>(config.wait_ready_s * 1e9);
    std::string body = config.payload;
    if (body.empty())
        body = R"({"version":"1","request_id":"ready-probe","tenant_id":"t-0","policy_id":")" +
               config.policy_id +
               R"(","task":{"type":"text.generate","payload":{"prompt":"hi"}},)"
               R"("metadata":{"user_id":"u-0"}})";
    std::string last_problem = "no reply";
    do
    {
        natsMsg* reply = nullptr;
        const natsStatus status = natsConnection_Request(&reply, connection, subject.c_str(), body.data(),
                                                         static_cast<int>(body.size()), 250);
        if (status == NATS_OK)
        {
            const std::string_view data(natsMsg_GetData(reply),
                                        static_cast<std::size_t>(natsMsg_GetDataLength(reply)));
            // A router still shedding a previous run's overload is not ready for the next one.
            const bool ok = classify_reply(data, config.check_ok) == ReplyKind::ok;
            if (!ok) last_problem = "reply was not ok: " + std::string(data.substr(0, 200));
            natsMsg_Destroy(reply);
            if (ok) return true;
        }
        else
            last_problem = natsStatus_GetText(status);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (now_ns() < deadline);
    std::fprintf(stderr, "error: %s not ready after %.1f s: %s\n", subject.c_str(), config.wait_ready_s,
                 last_problem.c_str());
    return false;
}

} // namespace

int main(int argc, char** argv)
{
    Config config;
    if (const int code = parse_arguments(argc, argv, config); code != 0) return code < 0 ? 0 : code;
    config.connection.name = "beamline_loadgen";
    natsConnection* connection = connect(config.connection);
    if (connection == nullptr) return 1;
    int exit_code = 0;
    if (config.wait_ready_s > 0)
        for (const Target& target : config.targets)
            if (exit_code == 0 && !wait_until_ready(config, target.subject, connection)) exit_code = 3;
    if (exit_code == 0 && config.duration_s > 0)
    {
        LoadGenerator generator(config, connection);
        if (generator.start_subscription())
        {
            generator.run();
            generator.print_report();
        }
        else
            exit_code = 1;
    }
    natsConnection_Close(connection);
    natsConnection_Destroy(connection);
    nats_Close();
    return exit_code;
}
