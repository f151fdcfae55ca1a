#include "beamline/app/router_service.hpp"

#include "beamline/app/logging.hpp"
#include "beamline/app/version.hpp"
#include "beamline/nats/protocol/encoder.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <mutex>
#include <random>
#include <unordered_map>

namespace beamline::app
{

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace
{

/// One tenant: its strand and the state only that strand touches.
struct tenant
{
    tenant(asio::io_context& io, std::string id, const router::tenant_limits& limits, std::uint64_t seed,
           metrics::counter& requests)
        : strand(asio::make_strand(io)), state(std::move(id), limits, seed), requests(requests)
    {
    }
    asio::strand<asio::io_context::executor_type> strand;
    router::tenant_state state;
    std::atomic<std::uint32_t> inflight{0};
    metrics::counter& requests; ///< router_tenant_decide_requests_total{tenant}
};

/// Metric handles, registered once; the decide path only touches atomics.
struct decide_metrics
{
    explicit decide_metrics(metrics::registry& reg)
        : ok(reg.counter("router_decide_requests_total", "Decide requests by outcome and error code",
                         {{"outcome", "ok"}, {"code", "none"}})),
          replay(reg.counter("router_decide_requests_total", "Decide requests by outcome and error code",
                             {{"outcome", "replay"}, {"code", "none"}})),
          latency(reg.histogram("router_decide_latency_seconds",
                                "Time from receiving a decide request to publishing its reply",
                                metrics::latency_buckets())),
          inflight(reg.gauge("router_decide_inflight", "Decide requests being processed")),
          publish_failures(reg.counter("router_reply_publish_failures_total",
                                       "Replies or assignments the NATS client refused to send")),
          assignments(reg.counter("router_assignments_published_total", "ExecAssignments published")),
          rate_limited(reg.counter("router_rate_limit_rejections_total", "Decisions refused by a rate limit")),
          idem_hits(reg.counter("router_idempotency_hits_total", "Idempotent replays of a stored reply")),
          idem_conflicts(reg.counter("router_idempotency_conflicts_total",
                                     "Idempotency keys reused with a different request"))
    {
        for (auto e : {router::reply_error::invalid_request, router::reply_error::unauthorized,
                       router::reply_error::policy_not_found, router::reply_error::rate_limited,
                       router::reply_error::overloaded, router::reply_error::decision_failed,
                       router::reply_error::internal})
            errors[static_cast<std::size_t>(e)] = &reg.counter(
                "router_decide_requests_total", "Decide requests by outcome and error code",
                {{"outcome", "error"}, {"code", std::string(router::to_string(e))}});
        for (auto r : {router::decision_reason::sticky, router::decision_reason::weighted,
                       router::decision_reason::fallback, router::decision_reason::circuit_breaker_fallback})
            reasons[static_cast<std::size_t>(r)] =
                &reg.counter("router_decisions_total", "Successful decisions by reason",
                             {{"reason", std::string(router::to_string(r))}});
    }
    metrics::counter& ok;
    metrics::counter& replay;
    std::array<metrics::counter*, 7> errors{};
    std::array<metrics::counter*, 4> reasons{};
    metrics::histogram& latency;
    metrics::gauge& inflight;
    metrics::counter& publish_failures;
    metrics::counter& assignments;
    metrics::counter& rate_limited;
    metrics::counter& idem_hits;
    metrics::counter& idem_conflicts;
};

/// A decide request in flight: its bytes copied off the read buffer once.
struct decide_job
{
    std::string body;
    std::string reply_to;
    std::string subject;
    std::optional<std::string> version;
    std::optional<std::string> traceparent;
    clock::time_point received;
    std::optional<router::decide_request> request;
    router::decide_outcome outcome;
};

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

/// A named coroutine, not a lambda: a lambda coroutine's captures die with the temporary closure.
asio::awaitable<void> connect_in_background(std::shared_ptr<nats::client> c)
{
    if (auto ec = co_await c->connect())
        log::warn("NATS not reachable yet; retrying in the background",
                  {{"error", c->last_error_text()}, {"code", ec.message()}});
}

} // namespace

struct router_service::impl : std::enable_shared_from_this<router_service::impl>
{
    impl(asio::io_context& io_, const config& cfg_, metrics::registry& reg_)
        : io(io_), cfg(cfg_), reg(reg_), store(cfg_.router.policies_dir), engine(store, settings_from(cfg_)),
          m(reg_), tenant_labels(cfg_.http.metrics_tenant_cap), started(clock::now()), drained(io_)
    {
        limits.idempotency_ttl = cfg.router.idempotency_ttl_s;
        limits.tenant_rps = cfg.router.tenant_rps;
        limits.tenant_burst = cfg.router.tenant_burst;
    }

    static router::decide_settings settings_from(const config& c)
    {
        router::decide_settings s;
        s.intake.max_payload = c.router.max_payload;
        s.intake.assignment_subject_prefix = c.router.assignment_subject_prefix;
        s.intake.tenants = router::tenant_allow_list(c.router.tenants_allow);
        s.assignment_subject = c.router.assignment_subject;
        return s;
    }

    asio::io_context& io;
    const config& cfg;
    metrics::registry& reg;
    router::policy_store store;
    router::decide_engine engine;
    decide_metrics m;
    metrics::label_cap tenant_labels;
    router::tenant_limits limits;
    clock::time_point started;
    std::shared_ptr<nats::client> client;
    nats::subscription_ptr decide_sub;
    std::vector<metrics::callback_registration> callbacks;
    std::atomic<bool> policies_loaded{false};
    std::atomic<bool> draining{false};
    std::atomic<std::size_t> inflight{0};
    asio::steady_timer drained;
    std::atomic<std::uint64_t> seed_counter{0x5eed};

    // Tenants: an immutable map swapped on insert. Reads take no lock; inserts are rare.
    using tenant_map = std::unordered_map<std::string, std::shared_ptr<tenant>>;
    std::atomic<std::shared_ptr<const tenant_map>> tenants{std::make_shared<const tenant_map>()};
    std::mutex tenants_writer;

    std::shared_ptr<tenant> tenant_for(const std::string& id)
    {
        auto snapshot = tenants.load(std::memory_order_acquire);
        if (auto it = snapshot->find(id); it != snapshot->end()) return it->second;
        std::lock_guard lock(tenants_writer);
        snapshot = tenants.load(std::memory_order_acquire);
        if (auto it = snapshot->find(id); it != snapshot->end()) return it->second;
        auto& counter = reg.counter("router_tenant_decide_requests_total", "Decide requests per tenant (capped)",
                                    {{"tenant", tenant_labels.admit(id)}});
        auto t = std::make_shared<tenant>(io, id, limits, seed_counter.fetch_add(0x9e3779b97f4a7c15ULL) ^ std::random_device{}(),
                                          counter);
        auto next = std::make_shared<tenant_map>(*snapshot);
        next->emplace(id, t);
        tenants.store(std::move(next), std::memory_order_release);
        return t;
    }

    std::size_t tenant_count() const { return tenants.load()->size(); }

    // --- decide path -----------------------------------------------------------------------------

    /// On the NATS connection's strand: copy, count, hand off. Nothing here may block.
    void on_decide(const nats::message_view& v)
    {
        auto job = std::make_unique<decide_job>();
        job->received = clock::now();
        job->body.assign(v.payload);
        job->subject.assign(v.subject);
        job->reply_to = v.reply.empty() ? cfg.router.decide_subject + ".reply" : std::string(v.reply);
        if (auto h = v.header("version")) job->version.emplace(*h);
        if (auto h = v.header("traceparent")) job->traceparent.emplace(*h);
        inflight.fetch_add(1, std::memory_order_relaxed);
        m.inflight.inc();
        asio::post(io, [self = shared_from_this(), j = std::move(job)]() mutable { self->intake(std::move(j)); });
    }

    void intake(std::unique_ptr<decide_job> job)
    {
        try
        {
            router::request_meta meta{job->subject,
                                      job->version ? std::optional<std::string_view>(*job->version) : std::nullopt,
                                      job->traceparent ? std::optional<std::string_view>(*job->traceparent)
                                                       : std::nullopt};
            job->request = engine.intake(job->body, meta, job->outcome);
            if (!job->request) return finish(std::move(job));
            auto t = tenant_for(job->request->tenant_id);
            t->requests.inc();
            if (t->inflight.fetch_add(1, std::memory_order_relaxed) >= cfg.router.tenant_inflight_max)
            {
                t->inflight.fetch_sub(1, std::memory_order_relaxed);
                router::decide_engine::refuse(&*job->request, router::reply_error::rate_limited,
                                              "tenant " + job->request->tenant_id + " has " +
                                                  std::to_string(cfg.router.tenant_inflight_max) +
                                                  " decisions in flight already",
                                              10, job->outcome);
                return finish(std::move(job));
            }
            asio::post(t->strand, [self = shared_from_this(), t, j = std::move(job)]() mutable {
                self->decide_on_strand(*t, std::move(j));
            });
        }
        catch (const std::exception& e)
        {
            internal_error(std::move(job), e.what());
        }
    }

    void decide_on_strand(tenant& t, std::unique_ptr<decide_job> job)
    {
        try
        {
            engine.decide(*job->request, t.state, clock::now(), job->outcome);
        }
        catch (const std::exception& e)
        {
            t.inflight.fetch_sub(1, std::memory_order_relaxed);
            return internal_error(std::move(job), e.what());
        }
        t.inflight.fetch_sub(1, std::memory_order_relaxed);
        finish(std::move(job));
    }

    void internal_error(std::unique_ptr<decide_job> job, const char* what)
    {
        log::error("decide failed unexpectedly",
                   {{"request_id", job->outcome.request_id}, {"tenant_id", job->outcome.tenant_id}, {"error", what}});
        router::decide_engine::refuse(job->request ? &*job->request : nullptr, router::reply_error::internal,
                                      "internal error; the router logged it with the request id", 0, job->outcome);
        finish(std::move(job));
    }

    /// Publishes the one reply (and the assignment), then accounts for the request.
    void finish(std::unique_ptr<decide_job> job)
    {
        auto& out = job->outcome;
        std::error_code ec;
        if (out.idempotent_replay)
        {
            static const nats::headers replay_headers = [] {
                nats::headers h;
                h.add(router::idempotent_replay_header, "true");
                return h;
            }();
            ec = client->publish(job->reply_to, out.reply, {}, &replay_headers);
        }
        else
        {
            ec = client->publish(job->reply_to, out.reply);
        }
        if (ec) m.publish_failures.inc();
        if (out.assignment && !out.error)
        {
            nats::headers h;
            for (const auto& f : out.assignment_hdrs)
                h.add(f.name, f.value);
            if (client->publish(out.assignment_subject, out.assignment_body, {}, &h)) m.publish_failures.inc();
            else m.assignments.inc();
        }

        if (out.idempotent_replay)
        {
            m.replay.inc();
            m.idem_hits.inc();
        }
        else if (out.error)
        {
            m.errors[static_cast<std::size_t>(*out.error)]->inc();
            if (*out.error == router::reply_error::rate_limited) m.rate_limited.inc();
            if (out.intake == router::intake_code::idempotency_violation) m.idem_conflicts.inc();
            log::debug("decide refused", {{"code", std::string(router::to_string(*out.error))},
                                          {"reason", out.message},
                                          {"request_id", out.request_id},
                                          {"tenant_id", out.tenant_id}});
        }
        else
        {
            m.ok.inc();
            if (out.reason) m.reasons[static_cast<std::size_t>(*out.reason)]->inc();
        }
        m.latency.observe(std::chrono::duration<double>(clock::now() - job->received).count());
        m.inflight.dec();
        if (inflight.fetch_sub(1, std::memory_order_acq_rel) == 1 && draining.load())
            asio::post(io, [self = shared_from_this()] { self->drained.cancel(); });
    }

    void register_nats_metrics()
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
        cb(mt::gauge, "router_tenants", "Tenants seen since start",
           [self] { return static_cast<double>(self->tenant_count()); });
    }
};

router_service::router_service(asio::io_context& io, const config& cfg, metrics::registry& reg)
    : impl_(std::make_shared<impl>(io, cfg, reg))
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
    impl_->client = nats::client::create(io.get_executor(), client_options_from(cfg), std::move(ev));
    impl_->register_nats_metrics();
}

router_service::~router_service() = default;

router::load_report router_service::start()
{
    auto report = reload_policies();
    auto& im = *impl_;
    nats::subscribe_options so;
    so.queue = im.cfg.router.queue_group;
    auto ec = im.client->subscribe_inline(im.cfg.router.decide_subject, so,
                                          [raw = impl_.get()](const nats::message_view& v) { raw->on_decide(v); },
                                          im.decide_sub);
    if (ec) log::error("cannot subscribe to the decide subject", {{"subject", im.cfg.router.decide_subject}, {"error", ec.message()}});
    asio::co_spawn(im.io, connect_in_background(im.client), asio::detached);
    return report;
}

router::load_report router_service::reload_policies()
{
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
    auto self = impl_;
    self->draining.store(true);
    log::info("draining: no new decide requests", {{"inflight", static_cast<double>(self->inflight.load())}});
    auto deadline = clock::now() + timeout;
    // Requests the server routed to us before it read the UNSUB still arrive and get their replies.
    co_await self->client->drain_subscription(self->decide_sub, std::min<std::chrono::milliseconds>(timeout, 2s));
    while (self->inflight.load() > 0 && clock::now() < deadline)
    {
        self->drained.expires_after(std::min<clock::duration>(deadline - clock::now(), 50ms));
        co_await self->drained.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (self->inflight.load() > 0)
        log::warn("drain timed out with decisions in flight", {{"inflight", static_cast<double>(self->inflight.load())}});
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
    h.policies_loaded = impl_->policies_loaded.load();
    h.draining = impl_->draining.load();
    if (!h.nats_connected)
    {
        std::string why = impl_->client->last_error_text();
        h.reason = "not connected to NATS (" + std::string(nats::to_string(impl_->client->state())) +
                   (why.empty() ? "" : ": " + why) + ")";
    }
    else if (!h.policies_loaded)
        h.reason = "no policies loaded from " + impl_->store.directory().string();
    else if (h.draining)
        h.reason = "draining";
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
                   {"queue_group", im.cfg.router.queue_group},
                   {"tenants", im.tenant_count()},
                   {"policies", im.store.list().size()},
                   {"inflight", im.inflight.load()}};
    if (!h.reason.empty()) o["reason"] = h.reason;
    return json::serialize(o);
}

router::policy_store& router_service::policies() noexcept { return impl_->store; }
nats::client& router_service::nats() noexcept { return *impl_->client; }
std::size_t router_service::inflight() const noexcept { return impl_->inflight.load(); }

} // namespace beamline::app
