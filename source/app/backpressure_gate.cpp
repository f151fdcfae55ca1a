#include "beamline/app/backpressure_gate.hpp"

#include "beamline/app/logging.hpp"

#include <boost/json.hpp>

#include <cmath>

namespace beamline::app
{
namespace
{

using router::backpressure_input;
using router::backpressure_state;

// Below this many samples in the window the latency input reads 0: a few slow requests at a
// quiet time (a cold start, one huge policy) are not an overload.
constexpr std::uint64_t latency_min_samples = 20;
// Nothing in flight and no decision finished for this long: the router is idle. Timed from the
// last decision itself, not from the window's 1 s slots, which took 1 to 2 s and so added up to
// 2 s to every recovery on top of recover_after_ms.
constexpr auto idle_after = std::chrono::seconds(1);

} // namespace

router::backpressure_settings backpressure_settings_from(const backpressure_config& c)
{
    router::backpressure_settings s;
    s.enabled = c.enabled;
    auto d = [](std::uint64_t v) { return static_cast<double>(v); };
    s[backpressure_input::inflight] = {d(c.inflight_high), d(c.inflight_low)};
    s[backpressure_input::latency_p95_ms] = {d(c.latency_p95_high_ms), d(c.latency_p95_low_ms)};
    s[backpressure_input::pending_bytes] = {d(c.pending_bytes_high), d(c.pending_bytes_low)};
    s[backpressure_input::consumer_pending] = {d(c.consumer_pending_high), d(c.consumer_pending_low)};
    s.activate_after = c.activate_after_ms;
    s.recover_after = c.recover_after_ms;
    s.retry_after_base = c.retry_after_base_ms;
    s.retry_after_max = c.retry_after_max_ms;
    return s;
}

boost::json::object to_json(const router::backpressure_status& s)
{
    // Counts and byte sizes read as whole numbers; only a fractional latency keeps its decimals.
    auto number = [](double v) -> boost::json::value {
        if (v == std::floor(v) && std::fabs(v) < 9e15) return static_cast<std::int64_t>(v);
        return v;
    };
    boost::json::object inputs;
    for (const auto& i : s.inputs)
        inputs[std::string(router::to_string(i.input))] = boost::json::object{
            {"value", number(i.value)}, {"high", number(i.high)}, {"low", number(i.low)}, {"over", i.over}};
    return boost::json::object{{"state", std::string(router::to_string(s.state))},
                               {"since_ms", s.since.count()},
                               {"retry_after_ms", s.retry_after_ms},
                               {"activations", s.activations},
                               {"inputs", std::move(inputs)}};
}

backpressure_gate::backpressure_gate(const backpressure_config& cfg, metrics::registry& reg, sources src,
                                     std::function<clock::time_point()> now)
    : cfg_(cfg), reg_(reg), src_(std::move(src)), now_(std::move(now)), admit_limit_(std::max<std::uint64_t>(cfg.inflight_low, 1)),
      machine_(backpressure_settings_from(cfg), now_()),
      rejections_(reg.counter("router_backpressure_rejections_total",
                              "Decide requests answered overloaded while backpressure was active")),
      activations_metric_(reg.counter("router_backpressure_activations_total", "Times backpressure became active")),
      state_metric_(reg.gauge("router_backpressure_state", "Backpressure state: 0 inactive, 1 warning, 2 active")),
      recovery_metric_(reg.histogram("router_backpressure_recovery_seconds",
                                     "Time from backpressure becoming active to its return to inactive",
                                     recovery_buckets()))
{
    for (auto i : {backpressure_input::inflight, backpressure_input::latency_p95_ms, backpressure_input::pending_bytes})
        register_input_metric(i);
    last_evaluation_ = now_();
    active_seconds_metric_ = reg.callback(metrics::metric_type::counter, "router_backpressure_active_seconds_total",
                                          "Seconds backpressure has been active", {}, [this] {
                                              std::lock_guard lock(mutex_);
                                              return active_seconds_;
                                          });
    warning_seconds_metric_ = reg.callback(metrics::metric_type::counter, "router_backpressure_warning_seconds_total",
                                           "Seconds backpressure has been in warning", {}, [this] {
                                               std::lock_guard lock(mutex_);
                                               return warning_seconds_;
                                           });
}

std::vector<double> backpressure_gate::recovery_buckets()
{
    // Recovery takes at least recover_after_ms (5 s by default); past half an hour it is an incident.
    return {1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800};
}

void backpressure_gate::register_input_metric(router::backpressure_input i)
{
    auto* gauge = &reg_.gauge("router_backpressure_input", "Current value of each backpressure input",
                              {{"input", std::string(router::to_string(i))}});
    input_metric_[static_cast<std::size_t>(i)].store(gauge, std::memory_order_release);
}

void backpressure_gate::start(boost::asio::any_io_executor ex)
{
    schedule(std::make_shared<boost::asio::steady_timer>(ex));
}

void backpressure_gate::schedule(std::shared_ptr<boost::asio::steady_timer> timer)
{
    timer->expires_after(cfg_.evaluate_interval_ms);
    // A weak reference: the gate dies with the service, before the metrics registry its callback
    // series is registered in, even while the io_context still holds this handler.
    timer->async_wait([weak = weak_from_this(), timer](boost::system::error_code ec) {
        auto self = weak.lock();
        if (ec || !self) return;
        try
        {
            self->evaluate();
        }
        catch (const std::exception& e)
        {
            log::error("backpressure evaluation failed", {{"error", e.what()}});
        }
        self->schedule(timer);
    });
}

std::optional<std::uint32_t> backpressure_gate::admit(std::uint64_t inflight) noexcept
{
    if (state_.load(std::memory_order_acquire) != backpressure_state::active || inflight < admit_limit_)
        return std::nullopt;
    rejections_.inc();
    return std::max<std::uint32_t>(retry_after_ms_.load(std::memory_order_relaxed), 1);
}

void backpressure_gate::record_latency(clock::duration d) { record_latency(d, now_()); }

void backpressure_gate::record_latency(clock::duration d, clock::time_point now)
{
    std::lock_guard lock(mutex_);
    latency_.record(std::chrono::duration_cast<std::chrono::microseconds>(d), now);
    last_decision_ = now;
}

void backpressure_gate::set_consumer_pending_source(std::function<std::uint64_t()> source)
{
    // Registered before the lock: a scrape holds the registry's lock while it samples the callback
    // metric below, which takes this one.
    register_input_metric(backpressure_input::consumer_pending); // absent until now, like the input
    std::lock_guard lock(mutex_);
    consumer_pending_ = std::move(source);
}

bool backpressure_gate::results_consumer_should_slow() const
{
    if (!active()) return false;
    std::lock_guard lock(mutex_);
    const auto& backlog = machine_.last_sample()[static_cast<std::size_t>(backpressure_input::consumer_pending)];
    return !(backlog && *backlog > machine_.settings()[backpressure_input::consumer_pending].high);
}

router::backpressure_sample backpressure_gate::sample(clock::time_point now)
{
    router::backpressure_sample s{};
    const std::uint64_t inflight = src_.inflight();
    s[static_cast<std::size_t>(backpressure_input::inflight)] = static_cast<double>(inflight);
    // Idle (nothing in flight, no decision for a second): the slow samples still in the window
    // describe a load that has gone, so they must not hold the state up after it. A decision
    // still in flight, however slow, means the router is not idle.
    const bool idle = inflight == 0 && (!last_decision_ || now - *last_decision_ >= idle_after);
    s[static_cast<std::size_t>(backpressure_input::latency_p95_ms)] =
        idle ? 0.0 : static_cast<double>(latency_.quantile(0.95, now, latency_min_samples)) / 1000.0;
    s[static_cast<std::size_t>(backpressure_input::pending_bytes)] = static_cast<double>(src_.pending_bytes());
    if (consumer_pending_)
        s[static_cast<std::size_t>(backpressure_input::consumer_pending)] = static_cast<double>(consumer_pending_());
    return s;
}

router::backpressure_status backpressure_gate::evaluate()
{
    router::backpressure_status st;
    backpressure_state before;
    {
        std::lock_guard lock(mutex_);
        const auto now = now_();
        before = machine_.state();
        count_active_time(now);
        machine_.evaluate(sample(now), now);
        note_transition(before, machine_.state(), now);
        st = machine_.status(now);
        retry_after_ms_.store(machine_.retry_after_ms(), std::memory_order_relaxed);
        state_.store(machine_.state(), std::memory_order_release);
        publish_metrics(st);
    }
    if (before != st.state)
    {
        std::string over;
        for (const auto& i : st.inputs)
            if (i.over) over += (over.empty() ? "" : ",") + std::string(router::to_string(i.input));
        const auto from = router::to_string(before);
        const auto to = router::to_string(st.state);
        if (st.state == backpressure_state::active)
            log::warn("backpressure active: shedding decide load", {{"from", from}, {"to", to}, {"inputs_over", over}});
        else
            log::info("backpressure state changed", {{"from", from}, {"to", to}, {"inputs_over", over}});
    }
    return st;
}

router::backpressure_status backpressure_gate::status()
{
    return evaluate();
}

std::pair<router::backpressure_reset_outcome, router::backpressure_status> backpressure_gate::reset()
{
    std::lock_guard lock(mutex_);
    const auto now = now_();
    count_active_time(now);
    const auto before = machine_.state();
    auto outcome = machine_.reset(now);
    note_transition(before, machine_.state(), now);
    auto st = machine_.status(now);
    retry_after_ms_.store(0, std::memory_order_relaxed);
    state_.store(machine_.state(), std::memory_order_release);
    publish_metrics(st);
    log::warn("backpressure forced to inactive by an operator",
              {{"previous", router::to_string(outcome.previous)}, {"reactivates", outcome.reactivates}});
    return {outcome, st};
}

void backpressure_gate::count_active_time(clock::time_point now)
{
    if (now > last_evaluation_)
    {
        const double elapsed = std::chrono::duration<double>(now - last_evaluation_).count();
        if (machine_.state() == backpressure_state::active) active_seconds_ += elapsed;
        if (machine_.state() == backpressure_state::warning) warning_seconds_ += elapsed;
    }
    last_evaluation_ = std::max(last_evaluation_, now);
}

void backpressure_gate::note_transition(backpressure_state before, backpressure_state after, clock::time_point now)
{
    if (after == backpressure_state::active && before != backpressure_state::active && !active_since_)
        active_since_ = now;
    // Recovered: back to inactive (by hysteresis or an operator's reset), not merely to warning.
    if (after == backpressure_state::inactive && active_since_)
    {
        recovery_metric_.observe(std::chrono::duration<double>(now - *active_since_).count());
        active_since_.reset();
    }
}

void backpressure_gate::publish_metrics(const router::backpressure_status& s)
{
    // The enum's order is the metric's contract (docs/OPERATIONS.md "Monitoring", the alert rules).
    state_metric_.set(static_cast<double>(s.state));
    for (const auto& in : s.inputs)
        if (auto* g = input_metric_[static_cast<std::size_t>(in.input)].load(std::memory_order_acquire)) g->set(in.value);
    if (s.activations > activations_published_)
    {
        activations_metric_.inc(s.activations - activations_published_);
        activations_published_ = s.activations;
    }
}

} // namespace beamline::app
