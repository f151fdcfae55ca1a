#include "beamline/app/results_service.hpp"

#include "beamline/app/logging.hpp"
#include "beamline/nats/jetstream/error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <map>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

namespace beamline::app
{

namespace asio = boost::asio;
namespace js = nats::jetstream;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace
{

std::int64_t unix_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

constexpr const char* correlation_help =
    "Results metered for the first time, by the correlation keys they carried: assignment_id only, "
    "request_id only, or both";

js::publish_options options_for(const router::outgoing_message& m)
{
    js::publish_options o;
    o.msg_id = m.msg_id;
    o.extra_headers = m.headers;
    return o;
}

} // namespace

struct results_service::impl : std::enable_shared_from_this<impl>
{
    impl(asio::any_io_executor ex, std::shared_ptr<nats::client> c, results_service_config config,
         metrics::registry& reg, breaker_feed f)
        : executor(ex), core(std::move(c)), js(ex, core), cfg(std::move(config)), feed(std::move(f)),
          registry(reg), timer(ex),
          acked(reg.counter("router_results_total", "Execution results by outcome", {{"outcome", "acked"}})),
          duplicate(reg.counter("router_results_total", "Execution results by outcome", {{"outcome", "duplicate"}})),
          nak(reg.counter("router_results_total", "Execution results by outcome", {{"outcome", "nak"}})),
          dlq(reg.counter("router_results_total", "Execution results by outcome", {{"outcome", "dlq"}})),
          usage_published(reg.counter("router_usage_events_published_total", "Usage events stored by JetStream")),
          invalid_letters(reg.counter("router_dead_letters_total", "Dead letters published, by reason",
                                      {{"reason", "INVALID_RESULT"}})),
          exhausted_letters(reg.counter("router_dead_letters_total", "Dead letters published, by reason",
                                        {{"reason", "MAXDELIVER_EXHAUSTED"}})),
          redeliveries(reg.counter("router_results_redeliveries_total", "Results delivered more than once")),
          exhausted(reg.counter("router_results_maxdeliver_exhausted_total",
                                "Results that reached MaxDeliver without being acknowledged")),
          keys_assignment_only(reg.counter("router_results_correlation_total", correlation_help, {{"keys", "assignment_id"}})),
          keys_request_only(reg.counter("router_results_correlation_total", correlation_help, {{"keys", "request_id"}})),
          keys_both(reg.counter("router_results_correlation_total", correlation_help, {{"keys", "both"}}))
    {
        pipeline.results_stream = cfg.names.results_stream;
        pipeline.usage_subject = cfg.names.usage_subject;
        pipeline.dead_letter_subject = cfg.names.results_dlq_subject;
        pipeline.limits = cfg.limits;
        metrics::label_set labels{{"stream", cfg.names.results_stream}, {"consumer", cfg.names.consumer}};
        pending_gauge = reg.callback(metrics::metric_type::gauge, "router_jetstream_consumer_pending",
                                     "Results waiting in the stream for the consumer (polled)", labels,
                                     [this] { return static_cast<double>(pending.load(std::memory_order_relaxed)); });
        ack_pending_gauge = reg.callback(
            metrics::metric_type::gauge, "router_jetstream_consumer_ack_pending",
            "Results delivered and not yet acknowledged (polled)", labels,
            [this] { return static_cast<double>(ack_pending.load(std::memory_order_relaxed)); });
    }

    js::consumer_config consumer_config() const
    {
        js::consumer_config c;
        c.durable_name = cfg.names.consumer;
        c.ack_policy = "explicit";
        c.ack_wait = cfg.ack_wait;
        c.max_deliver = cfg.max_deliver;
        c.backoff = cfg.backoff;
        c.max_ack_pending = cfg.max_ack_pending;
        c.filter_subject = cfg.names.results_subject;
        return c;
    }

    void set_problem(std::string text)
    {
        std::lock_guard lock(mutex);
        if (text != problem) log::warn("results consumer not running", {{"reason", text}});
        problem = std::move(text);
    }
    void note_error(const std::string& text)
    {
        std::lock_guard lock(mutex);
        last_error = text;
    }
    void count_api_error(std::error_code ec)
    {
        if (!ec || ec.category() != js::jetstream_category()) return;
        std::lock_guard lock(mutex);
        auto code = std::to_string(ec.value());
        if (!api_errors.count(code) && api_errors.size() >= 32) code = "other";
        auto [it, fresh] = api_errors.try_emplace(code, nullptr);
        if (fresh)
            it->second = &registry.counter("router_jetstream_api_errors_total", "JetStream API errors by err_code",
                                           {{"err_code", code}});
        it->second->inc();
    }

    static asio::awaitable<void> run(std::shared_ptr<impl> self);
    static asio::awaitable<void> process(std::shared_ptr<impl> self, std::shared_ptr<js::js_message> m);
    static asio::awaitable<void> on_advisory(std::shared_ptr<impl> self, std::string payload);
    static asio::awaitable<void> poll(std::shared_ptr<impl> self);

    /// A delivered result is settled (acked, NAKed or terminated): a paced consumer waits for this.
    void finished()
    {
        in_process.fetch_sub(1, std::memory_order_relaxed);
        if (consumer) consumer->settled();
    }

    /// Per delivery (consumer strand) and per poll (executor): follows the backpressure state.
    void follow_pacing()
    {
        bool want = slow && slow();
        if (!consumer || paced.load(std::memory_order_relaxed) == want) return;
        if (paced.exchange(want, std::memory_order_relaxed) == want) return; // the poll and a delivery raced
        if (want) paced_times.fetch_add(1, std::memory_order_relaxed);
        log::info(want ? "results consumer paced: one batch at a time while backpressure is active"
                       : "results consumer pulling ahead again");
        consumer->set_paced(want);
    }

    void on_message(js::js_message m)
    {
        if (m.metadata_error())
        {
            if (consumer) consumer->settled(); // nothing to ack, nothing in process
            return;
        }
        follow_pacing();
        auto now_in_process = in_process.fetch_add(1, std::memory_order_relaxed) + 1;
        if (paced.load(std::memory_order_relaxed) && now_in_process > paced_peak.load(std::memory_order_relaxed))
            paced_peak.store(now_in_process, std::memory_order_relaxed);
        if (m.metadata().delivered > 1)
        {
            redeliveries.inc();
            totals.redeliveries.fetch_add(1, std::memory_order_relaxed);
        }
        pending.store(m.metadata().pending, std::memory_order_relaxed);
        asio::co_spawn(executor, process(shared_from_this(), std::make_shared<js::js_message>(std::move(m))),
                       asio::detached);
    }

    void settle(const std::shared_ptr<js::js_message>& m, const router::meter_step& step,
                router::usage_publish_outcome outcome)
    {
        auto s = router::after_usage_publish(step, outcome, m->metadata().delivered);
        if (s.what == router::settle_step::action::nak)
        {
            m->nak(std::chrono::duration_cast<std::chrono::nanoseconds>(s.nak_delay));
            nak.inc();
            totals.naks.fetch_add(1, std::memory_order_relaxed);
            finished();
            return;
        }
        if (s.feed_breaker)
        {
            // Counted once per result, when it is metered for the first time (not per delivery).
            const bool by_assignment = !step.result.assignment_id.empty();
            const bool by_request = !step.result.request_id.empty();
            (by_assignment && by_request ? keys_both : by_assignment ? keys_assignment_only : keys_request_only).inc();
            if (feed) feed(step.result, s.outcome);
        }
        if (auto ec = m->ack()) note_error("ack: " + ec.message());
        if (outcome == router::usage_publish_outcome::duplicate)
        {
            duplicate.inc();
            totals.duplicates.fetch_add(1, std::memory_order_relaxed);
        }
        else
        {
            usage_published.inc();
            acked.inc();
            totals.acked.fetch_add(1, std::memory_order_relaxed);
        }
        finished();
    }

    asio::any_io_executor executor;
    std::shared_ptr<nats::client> core;
    js::context js;
    results_service_config cfg;
    router::results_config pipeline;
    breaker_feed feed;
    counters totals;
    metrics::registry& registry;
    asio::steady_timer timer;
    std::unique_ptr<js::async_publisher> publisher;
    std::shared_ptr<js::pull_consumer> consumer;
    nats::subscription_ptr advisories;
    std::atomic<bool> stopped{false};
    std::atomic<std::uint64_t> pending{0};
    std::atomic<std::uint64_t> ack_pending{0};
    std::function<bool()> slow; ///< backpressure says pace; set before start
    std::atomic<bool> paced{false};
    std::atomic<std::uint64_t> paced_times{0};  ///< how often pacing began
    std::atomic<std::uint64_t> in_process{0};   ///< delivered, not yet settled
    std::atomic<std::uint64_t> paced_peak{0};   ///< most in process at once while paced

    mutable std::mutex mutex; // problem, last_error, api_errors
    std::string problem = "starting";
    std::string last_error;
    std::map<std::string, metrics::counter*> api_errors;

    metrics::counter& acked;
    metrics::counter& duplicate;
    metrics::counter& nak;
    metrics::counter& dlq;
    metrics::counter& usage_published;
    metrics::counter& invalid_letters;
    metrics::counter& exhausted_letters;
    metrics::counter& redeliveries;
    metrics::counter& exhausted;
    metrics::counter& keys_assignment_only;
    metrics::counter& keys_request_only;
    metrics::counter& keys_both;
    metrics::callback_registration pending_gauge;
    metrics::callback_registration ack_pending_gauge;
};

asio::awaitable<void> results_service::impl::process(std::shared_ptr<impl> self, std::shared_ptr<js::js_message> m)
{
    router::result_delivery d;
    d.subject = m->subject();
    d.body = m->payload();
    d.headers.version = m->header("version");
    d.headers.tenant_id = m->header("tenant_id");
    d.headers.trace_id = m->header("trace_id");
    d.stream_seq = m->metadata().stream_seq;
    d.delivered = m->metadata().delivered;
    auto step = router::plan_result(d, self->pipeline, unix_ms());

    if (auto* letter = std::get_if<router::dead_letter_step>(&step))
    {
        auto r = co_await self->js.publish(letter->letter.subject, letter->letter.body, options_for(letter->letter));
        if (r.ec)
        {
            // Keep the original until its dead letter is stored: a NAK brings it back.
            self->count_api_error(r.ec);
            self->note_error("dead letter: " + r.error_text());
            m->nak(std::chrono::duration_cast<std::chrono::nanoseconds>(router::metering_retry_delay(d.delivered)));
            self->nak.inc();
            self->totals.naks.fetch_add(1, std::memory_order_relaxed);
            self->finished();
            co_return;
        }
        log::warn("result dead-lettered",
                  {{"reason", letter->reason}, {"error", letter->error}, {"stream_seq", std::to_string(d.stream_seq)}});
        m->term();
        self->dlq.inc();
        self->invalid_letters.inc();
        self->totals.dead_letters.fetch_add(1, std::memory_order_relaxed);
        self->finished();
        co_return;
    }

    auto meter = std::make_shared<router::meter_step>(std::move(std::get<router::meter_step>(step)));
    auto subject = meter->usage.subject;
    auto body = meter->usage.body;
    auto options = options_for(meter->usage);
    // A named completion, moved in: GCC 12 mishandles a lambda temporary converted to a by-value
    // coroutine parameter (its captures are destroyed before the coroutine stores them).
    js::async_publisher::completion done = [self, m, meter](const js::api_result<js::pub_ack>& ack)
    {
        if (ack.ec)
        {
            self->count_api_error(ack.ec);
            self->note_error("usage publish: " + ack.error_text());
        }
        self->settle(m, *meter,
                     ack.ec                 ? router::usage_publish_outcome::failed
                     : ack.value.duplicate ? router::usage_publish_outcome::duplicate
                                           : router::usage_publish_outcome::stored);
    };
    co_await self->publisher->publish(std::move(subject), std::move(body), std::move(options), std::move(done));
}

asio::awaitable<void> results_service::impl::on_advisory(std::shared_ptr<impl> self, std::string payload)
{
    json::error_code ec;
    auto v = json::parse(payload, ec);
    const json::object* o = ec ? nullptr : v.if_object();
    const json::value* seq = o ? o->if_contains("stream_seq") : nullptr;
    if (!seq || !seq->is_number())
    {
        self->note_error("MaxDeliver advisory without stream_seq");
        co_return;
    }
    auto stream_seq = seq->to_number<std::uint64_t>();
    std::uint64_t deliveries = 0;
    if (const auto* n = o->if_contains("deliveries"); n && n->is_number()) deliveries = n->to_number<std::uint64_t>();
    self->exhausted.inc();
    self->totals.max_deliver_exhausted.fetch_add(1, std::memory_order_relaxed);

    js::message_query q;
    q.seq = stream_seq;
    auto original = co_await self->js.get_message(self->cfg.names.results_stream, q);
    if (original.ec)
    {
        self->count_api_error(original.ec);
        log::error("MaxDeliver dead letter lost: the original cannot be read",
                   {{"stream_seq", std::to_string(stream_seq)}, {"error", original.error_text()}});
        co_return;
    }
    router::result_delivery d;
    d.subject = original.value.subject;
    d.body = original.value.data;
    d.stream_seq = stream_seq;
    d.delivered = deliveries;
    auto letter = router::plan_max_deliver_letter(d, self->pipeline);
    auto r = co_await self->js.publish(letter.letter.subject, letter.letter.body, options_for(letter.letter));
    if (r.ec)
    {
        self->count_api_error(r.ec);
        log::error("MaxDeliver dead letter not stored", {{"stream_seq", std::to_string(stream_seq)}, {"error", r.error_text()}});
        co_return;
    }
    if (!r.value.duplicate)
    {
        self->exhausted_letters.inc();
        self->totals.dead_letters.fetch_add(1, std::memory_order_relaxed);
    }
    log::warn("result dead-lettered", {{"reason", letter.reason}, {"stream_seq", std::to_string(stream_seq)}});
}

asio::awaitable<void> results_service::impl::poll(std::shared_ptr<impl> self)
{
    while (!self->stopped.load())
    {
        auto info = co_await self->js.get_consumer_info(self->cfg.names.results_stream, self->cfg.names.consumer);
        if (info.ec)
        {
            self->count_api_error(info.ec);
            self->note_error("consumer info: " + info.error_text());
        }
        else
        {
            self->pending.store(info.value.num_pending, std::memory_order_relaxed);
            self->ack_pending.store(info.value.num_ack_pending, std::memory_order_relaxed);
        }
        self->follow_pacing(); // also when no result arrives to notice the change
        self->timer.expires_after(self->cfg.consumer_poll);
        auto [e] = co_await self->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (e) co_return;
    }
}

asio::awaitable<void> results_service::impl::run(std::shared_ptr<impl> self)
{
    while (!self->stopped.load())
    {
        auto report = co_await ensure_streams(self->js, router_streams(self->cfg.names), self->cfg.bootstrap);
        if (!report.created.empty() || !report.updated.empty())
            log::info("JetStream streams", {{"summary", report.summary()}});
        std::string problem;
        if (!report.ok())
            problem = "JetStream: " + report.summary();
        else
        {
            auto made = co_await self->js.create_consumer(self->cfg.names.results_stream, self->consumer_config());
            if (made.ec)
            {
                self->count_api_error(made.ec);
                problem = "JetStream: cannot create consumer " + self->cfg.names.consumer + ": " + made.error_text();
            }
        }
        if (problem.empty()) break;
        self->set_problem(problem);
        self->timer.expires_after(3s);
        auto [e] = co_await self->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (e) co_return;
    }
    if (self->stopped.load()) co_return;

    self->publisher = std::make_unique<js::async_publisher>(self->js, self->cfg.usage_window);
    std::string advisory = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + self->cfg.names.results_stream + "." +
                           self->cfg.names.consumer;
    nats::subscribe_options so;
    so.queue = "beamline-router-advisories"; // one router letters each exhaustion
    std::weak_ptr<impl> weak = self;
    auto ec = self->core->subscribe(
        advisory, so,
        [weak](nats::message msg)
        {
            if (auto s = weak.lock())
                asio::co_spawn(s->executor, on_advisory(s, std::string(msg.payload())), asio::detached);
        },
        self->advisories);
    if (ec) self->note_error("advisory subscription: " + ec.message());

    js::consume_options co;
    co.batch = self->cfg.batch;
    co.expires = 5s;
    co.recreate_deleted_consumer = true;
    js::consume_events events;
    events.message = [weak](js::js_message m)
    {
        if (auto s = weak.lock()) s->on_message(std::move(m));
    };
    events.warning = [weak](std::error_code e)
    {
        if (auto s = weak.lock()) s->note_error("consumer: " + e.message());
    };
    events.stopped = [weak](std::error_code e)
    {
        if (auto s = weak.lock(); s && !s->stopped.load()) s->set_problem("results consumer stopped: " + e.message());
    };
    self->consumer = js::pull_consumer::create(self->js, self->cfg.names.results_stream, self->cfg.names.consumer, co,
                                               std::move(events), self->consumer_config());
    if (auto e = self->consumer->start())
    {
        self->set_problem("results consumer: " + e.message());
        co_return;
    }
    self->set_problem({});
    log::info("consuming results", {{"stream", self->cfg.names.results_stream}, {"consumer", self->cfg.names.consumer}});
    co_await poll(self);
}

std::shared_ptr<results_service> results_service::create(asio::any_io_executor ex, std::shared_ptr<nats::client> core,
                                                         results_service_config cfg, metrics::registry& reg,
                                                         breaker_feed feed)
{
    return std::make_shared<results_service>(private_tag{}, ex, std::move(core), std::move(cfg), reg, std::move(feed));
}

results_service::results_service(private_tag, asio::any_io_executor ex, std::shared_ptr<nats::client> core,
                                 results_service_config cfg, metrics::registry& reg, breaker_feed feed)
    : impl_(std::make_shared<impl>(ex, std::move(core), std::move(cfg), reg, std::move(feed)))
{
}

results_service::~results_service()
{
    stop();
}

void results_service::start()
{
    asio::co_spawn(impl_->executor, impl::run(impl_), asio::detached);
}

void results_service::set_pacing(std::function<bool()> slow)
{
    impl_->slow = std::move(slow);
}

void results_service::stop()
{
    if (impl_->stopped.exchange(true)) return;
    impl_->pending_gauge.reset();
    impl_->ack_pending_gauge.reset();
    if (impl_->consumer) impl_->consumer->stop();
    if (impl_->advisories) impl_->core->unsubscribe(impl_->advisories);
    asio::post(impl_->executor, [i = impl_] { i->timer.cancel(); });
}

std::uint64_t results_service::backlog() const noexcept
{
    return impl_->pending.load(std::memory_order_relaxed) + impl_->ack_pending.load(std::memory_order_relaxed);
}

const results_service::counters& results_service::totals() const noexcept
{
    return impl_->totals;
}

std::string results_service::problem() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->problem;
}

json::object results_service::status() const
{
    json::object o;
    o["consumer"] = impl_->cfg.names.consumer;
    o["delivered"] = impl_->consumer ? impl_->consumer->delivered() : 0;
    o["pulls"] = impl_->consumer ? impl_->consumer->pulls() : 0;
    o["stream"] = impl_->cfg.names.results_stream;
    o["pending"] = impl_->pending.load(std::memory_order_relaxed);
    o["ack_pending"] = impl_->ack_pending.load(std::memory_order_relaxed);
    o["redeliveries"] = impl_->totals.redeliveries.load(std::memory_order_relaxed);
    o["acked"] = impl_->totals.acked.load(std::memory_order_relaxed);
    o["duplicates"] = impl_->totals.duplicates.load(std::memory_order_relaxed);
    o["dead_letters"] = impl_->totals.dead_letters.load(std::memory_order_relaxed);
    o["paced"] = impl_->paced.load(std::memory_order_relaxed);
    o["paced_times"] = impl_->paced_times.load(std::memory_order_relaxed);
    o["paced_peak_in_process"] = impl_->paced_peak.load(std::memory_order_relaxed);
    o["in_process"] = impl_->in_process.load(std::memory_order_relaxed);
    std::lock_guard lock(impl_->mutex);
    o["running"] = impl_->problem.empty();
    if (!impl_->problem.empty()) o["problem"] = impl_->problem;
    o["last_error"] = impl_->last_error;
    return o;
}

} // namespace beamline::app
