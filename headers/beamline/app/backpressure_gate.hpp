#pragma once
// The daemon's backpressure: router::backpressure_machine fed on a timer with the live inputs, and
// the admission check every decide request passes before any work is spent on it.
//
// Admission (per request, lock-free): while `active`, a request is admitted only while fewer than
// `inflight_low` admitted decisions are in flight (at least 1); the rest are answered `overloaded`
// at once. So under overload the router keeps working at the concurrency it recovers at instead of
// refusing everything, goodput holds, and the accepted requests' queueing stays bounded.
// In `inactive` and `warning` everything is admitted.
//
// Evaluation (every backpressure.evaluate_interval_ms, and on demand for status): samples in-flight,
// p95 decide latency over 10 s, NATS pending bytes and, once a results consumer registers its
// source, its backlog; moves the state; updates the metrics.

#include "beamline/app/config.hpp"
#include "beamline/metrics/registry.hpp"
#include "beamline/router/backpressure.hpp"
#include "beamline/router/latency_window.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

namespace beamline::app
{

router::backpressure_settings backpressure_settings_from(const backpressure_config& c);

/// Status JSON (SPEC §12): {"state","since_ms","retry_after_ms","activations","inputs":{...}}.
boost::json::object to_json(const router::backpressure_status& s);

class backpressure_gate : public std::enable_shared_from_this<backpressure_gate>
{
public:
    using clock = std::chrono::steady_clock;
    struct sources
    {
        std::function<std::uint64_t()> inflight;      ///< admitted decide requests not yet answered
        std::function<std::uint64_t()> pending_bytes; ///< NATS outbound bytes not yet written
    };

    backpressure_gate(const backpressure_config& cfg, metrics::registry& reg, sources src,
                      std::function<clock::time_point()> now = [] { return clock::now(); });

    /// Starts the evaluation timer on `ex`; it stops when the gate is destroyed.
    void start(boost::asio::any_io_executor ex);

    /// Per request, before any work: nullopt when admitted, else the retry_after_ms to reply with.
    /// `inflight` is the number of admitted requests in flight, this one not included.
    std::optional<std::uint32_t> admit(std::uint64_t inflight) noexcept;
    /// Latency of an admitted decision, from receipt to reply.
    void record_latency(clock::duration d);
    /// The same, told when the decision finished (on the gate's clock): a caller that has read
    /// the clock already saves the gate reading it again.
    void record_latency(clock::duration d, clock::time_point finished);

    /// The results consumer's backlog; until one is set, that input is absent.
    void set_consumer_pending_source(std::function<std::uint64_t()> source);
    /// While active the results consumer should slow to one batch at a time, unless its own backlog
    /// is over its mark (only pulling drains it: backpressure must not keep itself active).
    bool results_consumer_should_slow() const;

    bool active() const noexcept { return state_.load(std::memory_order_acquire) == router::backpressure_state::active; }
    router::backpressure_state state() const noexcept { return state_.load(std::memory_order_acquire); }

    /// Samples, evaluates and returns the status.
    router::backpressure_status evaluate();
    router::backpressure_status status();
    /// Forced `inactive`; the outcome says whether the next evaluation raises it again.
    std::pair<router::backpressure_reset_outcome, router::backpressure_status> reset();

private:
    router::backpressure_sample sample(clock::time_point now);
    void publish_metrics(const router::backpressure_status& s);
    void register_input_metric(router::backpressure_input i);
    void schedule(std::shared_ptr<boost::asio::steady_timer> timer);

    backpressure_config cfg_;
    metrics::registry& reg_;
    sources src_;
    std::function<clock::time_point()> now_;
    std::uint64_t admit_limit_;

    mutable std::mutex mutex_; ///< guards everything below up to the atomics
    router::backpressure_machine machine_;
    router::latency_window latency_;
    std::optional<clock::time_point> last_decision_; ///< when record_latency was last told one
    std::function<std::uint64_t()> consumer_pending_;
    std::uint64_t activations_published_ = 0;
    clock::time_point last_evaluation_;
    double active_seconds_ = 0;  ///< time spent active, counted between evaluations
    double warning_seconds_ = 0; ///< time spent in warning, likewise
    std::optional<clock::time_point> active_since_; ///< when the current overload became active
    void count_active_time(clock::time_point now);
    void note_transition(router::backpressure_state before, router::backpressure_state after, clock::time_point now);
    static std::vector<double> recovery_buckets();

    std::atomic<router::backpressure_state> state_{router::backpressure_state::inactive};
    std::atomic<std::uint32_t> retry_after_ms_{0};

    metrics::counter& rejections_;
    metrics::counter& activations_metric_;
    metrics::gauge& state_metric_;
    metrics::histogram& recovery_metric_;
    metrics::callback_registration active_seconds_metric_;
    metrics::callback_registration warning_seconds_metric_;
    /// Atomic: the results consumer's series is registered from its thread while evaluations run.
    std::array<std::atomic<metrics::gauge*>, router::backpressure_input_count> input_metric_{};
};

} // namespace beamline::app
