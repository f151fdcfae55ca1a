#include "beamline/app/router_service.hpp"

#include "beamline/app/backpressure_hooks.hpp"
#include "beamline/app/breaker_events.hpp"
#include "beamline/app/decide_telemetry.hpp"
#include "beamline/app/kv_idempotency.hpp"
#include "beamline/app/kv_policy_source.hpp"
#include "beamline/app/kv_sticky.hpp"
#include "beamline/app/logging.hpp"
#include "beamline/app/results_service.hpp"
#include "beamline/app/version.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <optional>
#include <random>

namespace beamline::app
{

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace
{

/// The pipeline's transport on core NATS: replies to the request's reply subject, ExecAssignments
/// through the same client, and the client's refusals told in words the caller can act on.
class nats_decide_transport final : public router::reply_sink, public router::assignment_publisher
{
public:
    explicit nats_decide_transport(std::shared_ptr<nats::client> c) : client_(std::move(c)) {}

    router::publish_result send_reply(std::string_view address, const router::decide_outcome& out) noexcept override
    {
        static const nats::headers replay_headers = [] {
            nats::headers h;
            h.add(router::idempotent_replay_header, "true");
            return h;
        }();
        auto ec = client_->publish(address, out.reply, {}, out.idempotent_replay ? &replay_headers : nullptr);
        return result_of(ec, out.reply.size());
    }

    router::publish_result publish_assignment(std::string_view subject, std::string_view body,
                                              const router::assignment_headers& fields) noexcept override
    {
        try
        {
            nats::headers h;
            for (const auto& f : fields)
                h.add(f.name, f.value);
            return result_of(client_->publish(subject, body, {}, &h), h.encoded_size() + body.size());
        }
        catch (const std::exception& e)
        {
            return {router::publish_refusal::unavailable, e.what()};
        }
    }

private:
    router::publish_result result_of(std::error_code ec, std::size_t bytes) const
    {
        using router::publish_refusal;
        if (!ec) return {};
        std::string why = ec.message();
        if (ec == nats::errc::max_payload_exceeded)
            return {publish_refusal::too_large,
                    "the message is " + std::to_string(bytes) + " bytes (headers included), over the NATS server's " +
                        "max_payload of " + std::to_string(client_->server_info().max_payload) + " bytes"};
        if (ec == nats::errc::control_line_too_long) return {publish_refusal::too_large, why};
        if (ec == nats::errc::invalid_subject || ec == nats::errc::invalid_header_key ||
            ec == nats::errc::headers_not_supported)
            return {publish_refusal::invalid, why};
        return {publish_refusal::unavailable, why};
    }

    std::shared_ptr<nats::client> client_;
};

} // namespace

nats::client_options client_options_from(const config& cfg)
{
    nats::client_options o;
    o.servers = cfg.nats.url;
    o.name = cfg.nats.name;
    o.user = cfg.nats.user;
    o.password = cfg.nats.password;
    o.token = cfg.nats.token;
    o.tls.ca_file = cfg.nats.tls_ca;
    o.tls.cert_file = cfg.nats.tls_cert;
    o.tls.key_file = cfg.nats.tls_key;
    o.connect_timeout = cfg.nats.connect_timeout_ms;
    o.ping_interval = cfg.nats.ping_interval_ms;
    o.max_pings_out = static_cast<int>(cfg.nats.max_pings_out);
    o.reconnect_wait = cfg.nats.reconnect_wait_ms;
    o.reconnect_jitter = cfg.nats.reconnect_jitter_ms;
    o.reconnect_jitter_tls = cfg.nats.reconnect_jitter_ms;
    o.max_reconnect = cfg.nats.max_reconnect;
    o.reconnect_buffer_bytes = cfg.nats.reconnect_buffer_bytes;
    // A daemon keeps trying: NATS may come up after us, and /healthz says so meanwhile.
    o.retry_on_failed_connect = true;
    return o;
}

namespace
{

/// A named coroutine, not a lambda: a lambda coroutine's captures die with the temporary closure.
asio::awaitable<void> connect_in_background(std::shared_ptr<nats::client> c)
{
    if (auto ec = co_await c->connect())
        log::warn("NATS not reachable yet; retrying in the background",
                  {{"error", c->last_error_text()}, {"code", ec.message()}});
}

} // namespace

struct router_service::impl
{
    impl(asio::io_context& io_, asio::io_context* decide_io_, const config& cfg_, metrics::registry& reg_)
        : io(io_), decide_io(decide_io_ ? *decide_io_ : io_), decide_on_one_thread(decide_io_ != nullptr), cfg(cfg_),
          reg(reg_), store(cfg_.router.policies_dir),
          fallback_reply_subject(cfg_.router.decide_subject + ".reply"), started(clock::now())
    {
    }

    router::decide_pipeline_settings settings_from(const config& c) const
    {
        router::decide_pipeline_settings s;
        s.tenants.state.idempotency_entries_total = idempotency_entries;
        s.decide.intake.max_payload = c.router.max_payload;
        s.decide.intake.assignment_subject_prefix = c.router.assignment_subject_prefix;
        s.decide.intake.tenants = router::tenant_allow_list(c.router.tenants_allow);
        s.decide.assignment_subject = c.router.assignment_subject;
        s.tenants.max_tenants = c.router.max_tenants;
        s.tenants.inflight_max = c.router.tenant_inflight_max;
        s.tenants.state.idempotency_ttl = c.router.idempotency_ttl_s;
        s.tenants.state.tenant_rps = c.router.tenant_rps;
        s.tenants.state.tenant_burst = c.router.tenant_burst;
        s.one_thread = decide_on_one_thread;
        return s;
    }

    /// Needs the client: built once it exists.
    void build_pipeline()
    {
        transport = std::make_shared<nats_decide_transport>(client);
        router::decide_pipeline_parts parts;
        parts.assignments = transport;
        bp = std::make_shared<backpressure_gate>(
            cfg.backpressure, reg,
            backpressure_gate::sources{[this] { return static_cast<std::uint64_t>(pipeline->inflight()); },
                                       [c = client] { return c->stats().pending_bytes; }});
        auto hooks = std::make_shared<backpressure_hooks>(
            bp, std::make_shared<decide_telemetry>(reg, cfg.http.metrics_tenant_cap),
            [this] { return pipeline ? pipeline->inflight() : std::size_t{0}; });
        parts.gate = hooks;
        parts.observer = hooks;
        if (const auto delay = cfg.backpressure.diagnostic_decide_delay_us; delay.count() > 0)
            parts.pacer = std::make_shared<diagnostic_slowdown>(io.get_executor(), delay,
                                                                cfg.backpressure.diagnostic_decide_slots);
        parts.seed = std::random_device{}() ^ (std::uint64_t{std::random_device{}()} << 32);
        auto settings = settings_from(cfg);
        if (shared_state()) build_shared_state(parts, settings);
        pipeline.emplace(decide_io.get_executor(), store, std::move(settings), std::move(parts));
        // Every router applies the others' breaker events, also one that consumes no results.
        breaker_events = std::make_unique<breaker_event_relay>(
            client, cfg.router.breaker_events_subject, new_router_id(), reg,
            [p = &*pipeline](std::string_view tenant, std::string_view provider, router::breaker_outcome o) {
                p->record_result(tenant, provider, o);
            });
        if (cfg.jetstream.enabled)
        {
            // Each result metered for the first time feeds its tenant's breaker (on the tenant's
            // strand), and the other routers' through a breaker event.
            auto feed = [p = &*pipeline, events = breaker_events.get()](const router::exec_result& r,
                                                                        router::breaker_outcome o) {
                p->record_result(r.tenant_id, r.provider_id, o);
                events->publish(r, o);
            };
            results = results_service::create(io.get_executor(), client, results_config_from(cfg), reg, std::move(feed));
            // SPEC §12: the results backlog (pending + ack-pending) is a backpressure input.
            bp->set_consumer_pending_source([r = results.get()] { return r->backlog(); });
            // While active, the consumer pulls one batch at a time (unless its backlog is the cause).
            results->set_pacing([g = bp.get()] { return g->results_consumer_should_slow(); });
        }
    }

    bool shared_state() const noexcept { return cfg.router.state == "jetstream"; }

    /// router.state=jetstream: the KV-backed stores behind the interfaces the local ones have.
    void build_shared_state(router::decide_pipeline_parts& parts, router::decide_pipeline_settings& settings)
    {
        const int replicas = static_cast<int>(cfg.jetstream.replicas);
        state_js = std::make_unique<nats::jetstream::context>(io.get_executor(), client);
        kv_policies = std::make_shared<kv_policy_source>(*state_js, store, replicas);
        kv_idem = std::make_shared<kv_idempotency>(*state_js, replicas, cfg.router.idempotency_ttl_s);
        kv_bindings = std::make_shared<kv_sticky>(*state_js, replicas, [] {
            return std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                .count();
        });
        parts.idempotency = kv_idem;
        settings.tenants.state.sticky_share = kv_bindings.get();
    }

    void start_shared_state()
    {
        kv_policies->start([this] {
            kv_policies_watched.store(true);
            log::info("policies served from KV", {{"bucket", policies_bucket},
                                                  {"policies", static_cast<double>(store.list().size())}});
        });
        kv_idem->start();
        kv_bindings->start();
    }

    /// Empty when the shared stores serve; else what is missing, in words.
    std::string shared_state_missing() const
    {
        if (!kv_idem->ready()) return "KV bucket " + std::string(idempotency_bucket) + " not open yet";
        if (!kv_bindings->ready()) return "KV bucket " + std::string(sticky_bucket) + " not open yet";
        if (!kv_policies_watched.load()) return "KV bucket " + std::string(policies_bucket) + " not watched yet";
        if (store.list().empty()) return "no policies in KV bucket " + std::string(policies_bucket) + " (seed it: policy import DIR)";
        return {};
    }

    void stop_shared_state()
    {
        kv_policies->stop();
        kv_idem->stop();
        kv_bindings->stop();
    }

    static results_service_config results_config_from(const config& cfg)
    {
        results_service_config r;
        const auto& j = cfg.jetstream;
        r.names.results_stream = j.results_stream;
        r.names.results_subject = j.results_subject;
        r.names.usage_stream = j.usage_stream;
        r.names.usage_subject = j.usage_subject;
        r.names.dlq_stream = j.dlq_stream;
        r.names.results_dlq_subject = j.results_subject + ".dlq";
        r.names.decide_dlq_subject = cfg.router.decide_subject + ".dlq";
        r.names.consumer = j.consumer;
        r.names.replicas = static_cast<int>(j.replicas);
        r.bootstrap = j.bootstrap;
        r.limits.max_payload = cfg.router.max_payload;
        return r;
    }

    /// On the NATS connection's strand: the pipeline copies what it needs and hands off.
    void on_decide(const nats::message_view& v)
    {
        router::request_meta meta{v.subject, v.header("version"), v.header("traceparent")};
        if (v.reply.empty())
            pipeline->submit(v.payload, meta, transport, fallback_reply_subject);
        else
            pipeline->submit(v.payload, meta, transport, v.reply);
    }

    asio::io_context& io;
    asio::io_context& decide_io; ///< the NATS connection and the pipeline; `io` unless the daemon splits them
    bool decide_on_one_thread;   ///< decide_io was given: one thread runs it
    const config& cfg;
    metrics::registry& reg;
    router::policy_store store;
    std::string fallback_reply_subject;
    clock::time_point started;
    std::shared_ptr<nats::client> client;
    /// The entries of every tenant's idempotency store, shared with them (router_idempotency_entries).
    std::shared_ptr<std::atomic<std::int64_t>> idempotency_entries = std::make_shared<std::atomic<std::int64_t>>(0);
    std::shared_ptr<nats_decide_transport> transport;
    std::optional<router::decide_pipeline> pipeline;
    /// Declared between the pipeline it feeds and the results loop that feeds it: destroyed after
    /// the loop, before the pipeline.
    std::unique_ptr<breaker_event_relay> breaker_events;
    std::shared_ptr<results_service> results; ///< null with jetstream.enabled=false
    std::shared_ptr<backpressure_gate> bp;
    // router.state=jetstream only; the context before the stores that use it.
    std::unique_ptr<nats::jetstream::context> state_js;
    std::shared_ptr<kv_policy_source> kv_policies;
    std::shared_ptr<kv_idempotency> kv_idem;
    std::shared_ptr<kv_sticky> kv_bindings;
    nats::subscription_ptr decide_sub;
    std::vector<metrics::callback_registration> callbacks;
    std::atomic<bool> policies_loaded{false};
    std::atomic<bool> kv_policies_watched{false}; ///< router.state=jetstream: the bucket's current values are in service
    std::atomic<bool> draining{false};
    std::function<void(std::error_code)> gave_up; // set before start(), called on the NATS strand

    void register_metrics()
    {
        auto c = client;
        auto cb = [&](metrics::metric_type type, const char* name, const char* help, auto sample) {
            callbacks.push_back(reg.callback(type, name, help, {}, sample));
        };
        using mt = metrics::metric_type;
        cb(mt::gauge, "router_nats_connected", "1 while connected to a NATS server",
           [c] { return c->connected() ? 1.0 : 0.0; });
        cb(mt::counter, "router_nats_reconnects_total", "NATS reconnections",
           [c] { return static_cast<double>(c->stats().reconnects); });
        for (std::size_t i = 0; i < nats::connect_failure_reason_count; ++i)
            callbacks.push_back(reg.callback(
                mt::counter, "router_nats_connection_failures_total",
                "Failed NATS connection attempts and stale connections, by reason",
                {{"reason", std::string(nats::to_string(static_cast<nats::connect_failure_reason>(i)))}},
                [c, i] { return static_cast<double>(c->stats().connect_failures[i]); }));
        cb(mt::counter, "router_nats_messages_in_total", "Messages received from NATS",
           [c] { return static_cast<double>(c->stats().in_msgs); });
        cb(mt::counter, "router_nats_messages_out_total", "Messages published to NATS",
           [c] { return static_cast<double>(c->stats().out_msgs); });
        cb(mt::counter, "router_nats_bytes_in_total", "Payload bytes received from NATS",
           [c] { return static_cast<double>(c->stats().in_bytes); });
        cb(mt::counter, "router_nats_bytes_out_total", "Payload bytes published to NATS",
           [c] { return static_cast<double>(c->stats().out_bytes); });
        cb(mt::gauge, "router_nats_pending_bytes", "Outbound bytes not yet written to the NATS socket",
           [c] { return static_cast<double>(c->stats().pending_bytes); });
        cb(mt::counter, "router_nats_dropped_messages_total", "Messages dropped by slow subscriptions",
           [c] { return static_cast<double>(c->stats().dropped_msgs); });
        auto* self = this;
        cb(mt::gauge, "router_policies", "Policies in service",
           [self] { return static_cast<double>(self->store.list().size()); });
        cb(mt::gauge, "router_decide_inflight", "Decide requests being processed",
           [self] { return static_cast<double>(self->pipeline->inflight()); });
        cb(mt::gauge, "router_tenants", "Tenants whose state the router keeps (at most router.max_tenants)",
           [self] { return static_cast<double>(self->pipeline->tenants().size()); });
        cb(mt::counter, "router_tenant_evictions_total", "Idle tenants whose state was dropped to make room",
           [self] { return static_cast<double>(self->pipeline->tenants().evictions()); });
        cb(mt::gauge, "router_idempotency_entries", "Replies the idempotency stores of all tenants hold",
           [n = idempotency_entries] { return static_cast<double>(n->load(std::memory_order_relaxed)); });
    }
};

router_service::router_service(asio::io_context& io, const config& cfg, metrics::registry& reg,
                               asio::io_context* decide_io)
    : impl_(std::make_unique<impl>(io, decide_io, cfg, reg))
{
    nats::client_events ev;
    ev.connected = [] { log::info("connected to NATS"); };
    ev.reconnected = [i = impl_.get()] { log::info("reconnected to NATS", {{"server", i->client->current_server()}}); };
    ev.disconnected = [i = impl_.get()](std::error_code ec) {
        log::warn("disconnected from NATS", {{"error", i->client->last_error_text()}, {"code", ec.message()}});
    };
    ev.error = [](std::error_code ec, std::string_view text) {
        log::warn("NATS asynchronous error", {{"error", ec.message()}, {"detail", std::string(text)}});
    };
    ev.lame_duck = [] { log::warn("NATS server entered lame duck mode"); };
    ev.closed = [i = impl_.get()](std::error_code ec) {
        if (!i->draining.load() && i->gave_up) i->gave_up(ec);
    };
    impl_->client = nats::client::create(impl_->decide_io.get_executor(), client_options_from(cfg), std::move(ev));
    impl_->build_pipeline();
    impl_->register_metrics();
}

router_service::~router_service() = default;

void router_service::on_nats_gave_up(std::function<void(std::error_code)> handler)
{
    impl_->gave_up = std::move(handler);
}

router::load_report router_service::start()
{
    auto& im = *impl_;
    // With shared state the policies come from KV (`policy import` seeds it), not the directory.
    auto report = im.shared_state() ? router::load_report{} : reload_policies();
    if (im.shared_state()) im.start_shared_state();
    nats::subscribe_options so;
    so.queue = im.cfg.router.queue_group;
    auto ec = im.client->subscribe_inline(im.cfg.router.decide_subject, so,
                                          [raw = impl_.get()](const nats::message_view& v) { raw->on_decide(v); },
                                          im.decide_sub);
    if (ec) log::error("cannot subscribe to the decide subject", {{"subject", im.cfg.router.decide_subject}, {"error", ec.message()}});
    asio::co_spawn(im.io, connect_in_background(im.client), asio::detached);
    if (auto e = im.breaker_events->subscribe())
        log::error("cannot subscribe to breaker events", {{"subject", im.breaker_events->subject()}, {"error", e.message()}});
    if (im.results) im.results->start();
    im.bp->start(im.io.get_executor());
    return report;
}

router::load_report router_service::reload_policies()
{
    if (impl_->shared_state())
    {
        // KV is watched: every change is in service already. A directory reload would serve what
        // the other routers do not.
        router::load_report report;
        report.problems.push_back({impl_->store.directory(), "router.state=jetstream serves the policies of KV bucket " +
                                                                 std::string(policies_bucket) +
                                                                 " (watched); seed it with `beamline_router policy import DIR`"});
        return report;
    }
    auto report = impl_->store.load_directory();
    for (const auto& p : report.problems)
        log::error("policy not loaded", {{"path", p.path.string()}, {"reason", p.reason}});
    for (const auto& r : report.removed)
        log::info("policy removed", {{"policy", r}});
    impl_->policies_loaded.store(!impl_->store.list().empty());
    log::info("policies loaded", {{"loaded", static_cast<double>(report.loaded)},
                                  {"invalid", static_cast<double>(report.problems.size())},
                                  {"dir", impl_->store.directory().string()}});
    return report;
}

asio::awaitable<void> router_service::drain(std::chrono::milliseconds timeout)
{
    auto* self = impl_.get();
    self->draining.store(true);
    if (self->shared_state()) self->stop_shared_state();
    if (self->results) self->results->stop(); // deliveries not acked are redelivered to another router
    log::info("draining: no new decide requests", {{"inflight", static_cast<double>(self->pipeline->inflight())}});
    auto deadline = clock::now() + timeout;
    // Requests the server routed to us before it read the UNSUB still arrive and get their replies.
    co_await self->client->drain_subscription(self->decide_sub, std::min<std::chrono::milliseconds>(timeout, 2s));
    // Decisions finish on other threads; looking every few milliseconds costs nothing while draining.
    asio::steady_timer poll(self->io);
    while (self->pipeline->inflight() > 0 && clock::now() < deadline)
    {
        poll.expires_after(std::min<clock::duration>(deadline - clock::now(), 5ms));
        co_await poll.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (self->pipeline->inflight() > 0)
        log::warn("drain timed out with decisions in flight",
                  {{"inflight", static_cast<double>(self->pipeline->inflight())}});
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    co_await self->client->drain(std::max(left, std::chrono::milliseconds(500)));
    log::info("drained");
}

service_health router_service::health() const
{
    service_health h;
    h.nats_connected = impl_->client->connected();
    // The decide subscription is registered at start and re-sent on every reconnect, so it is live
    // whenever the connection is up (draining, reported on its own, is when it stops).
    h.subscribed = impl_->decide_sub != nullptr && h.nats_connected;
    // With shared state the bucket may be seeded after the router starts: looked at each time. And
    // a router that cannot yet claim idempotency records would refuse every idempotent request,
    // so it is not ready to serve until all three buckets are open.
    std::string shared_missing = impl_->shared_state() ? impl_->shared_state_missing() : std::string();
    h.policies_loaded = impl_->shared_state() ? shared_missing.empty() : impl_->policies_loaded.load();
    h.draining = impl_->draining.load();
    if (!h.nats_connected)
    {
        std::string why = impl_->client->last_error_text();
        h.reason = "not connected to NATS (" + std::string(nats::to_string(impl_->client->state())) +
                   (why.empty() ? "" : ": " + why) + ")";
    }
    else if (!h.policies_loaded)
        h.reason = impl_->shared_state() ? shared_missing
                                         : "no policies loaded from " + impl_->store.directory().string();
    else if (h.draining)
        h.reason = "draining";
    if (impl_->results && !h.draining)
    {
        h.results_problem = impl_->results->problem();
        if (h.reason.empty() && !h.results_problem.empty()) h.reason = "results loop not running: " + h.results_problem;
    }
    h.overloaded = impl_->bp->active();
    if (h.overloaded && h.reason.empty()) h.reason = "backpressure active: shedding decide load";
    return h;
}

std::string router_service::status_json() const
{
    namespace json = boost::json;
    auto& im = *impl_;
    auto st = im.client->stats();
    auto h = health();
    json::object nats{{"state", std::string(nats::to_string(im.client->state()))},
                      {"server", im.client->current_server()},
                      {"server_version", im.client->server_info().version},
                      {"last_error", im.client->last_error_text()},
                      {"in_msgs", st.in_msgs},
                      {"out_msgs", st.out_msgs},
                      {"reconnects", st.reconnects},
                      {"pending_bytes", st.pending_bytes}};
    json::object o{{"version", std::string(beamline_version)},
                   {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(clock::now() - im.started).count()},
                   {"ready", h.ready()},
                   {"draining", h.draining},
                   {"nats", std::move(nats)},
                   {"decide_subject", im.cfg.router.decide_subject},
                   {"router_id", im.breaker_events->router_id()},
                   {"queue_group", im.cfg.router.queue_group},
                   {"state", im.cfg.router.state},
                   {"tenants", im.pipeline->tenants().size()},
                   {"tenant_evictions", im.pipeline->tenants().evictions()},
                   {"policies", im.store.list().size()},
                   {"inflight", im.pipeline->inflight()},
                   {"backpressure", to_json(im.bp->status())}};
    if (im.results)
        o["jetstream"] = im.results->status();
    else
        o["jetstream"] = json::object{{"enabled", false}};
    if (!h.reason.empty()) o["reason"] = h.reason;
    return json::serialize(o);
}

router::policy_store& router_service::policies() noexcept { return impl_->store; }
kv_policy_source* router_service::shared_policies() noexcept { return impl_->kv_policies.get(); }
nats::client& router_service::nats() noexcept { return *impl_->client; }
router::decide_pipeline& router_service::pipeline() noexcept { return *impl_->pipeline; }
asio::io_context::executor_type router_service::executor() const noexcept { return impl_->io.get_executor(); }
std::size_t router_service::inflight() const noexcept { return impl_->pipeline->inflight(); }
backpressure_gate& router_service::backpressure() noexcept { return *impl_->bp; }

} // namespace beamline::app
