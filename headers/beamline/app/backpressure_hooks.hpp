#pragma once
// Backpressure plugged into router::decide_pipeline: the admission gate the pipeline asks before
// any intake work, and an observer around the daemon's own (every call is passed on) that feeds
// the latency input with each decision; and the diagnostic slowdown
// (backpressure.diagnostic_decide_delay_us) that overloads a router on purpose.

#include "beamline/app/backpressure_gate.hpp"
#include "beamline/router/decide_pipeline.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace beamline::app
{

class backpressure_hooks final : public router::admission_gate, public router::decide_observer
{
public:
    /// `inflight` is the pipeline's count of submits not yet answered, the one being checked included.
    backpressure_hooks(std::shared_ptr<backpressure_gate> gate, std::shared_ptr<router::decide_observer> inner,
                       std::function<std::size_t()> inflight);

    std::optional<router::overload_refusal> check() noexcept override;

    std::unique_ptr<router::tenant_observer> tenant_created(std::string_view tenant_id) override;
    void decided(const router::decide_outcome& out, const router::publish_result& reply,
                 std::chrono::steady_clock::duration latency,
                 std::chrono::steady_clock::time_point finished) noexcept override;
    void assignment_published(const router::decide_outcome& out) noexcept override;
    void assignment_refused(const router::decide_outcome& out, const router::publish_result& why) noexcept override;
    void internal_error(const router::decide_outcome& out, std::string_view what) noexcept override;
    void breaker_transition(std::string_view tenant_id, std::string_view provider_id,
                            const router::breaker_transition& t) noexcept override;

private:
    std::shared_ptr<backpressure_gate> gate_;
    std::shared_ptr<router::decide_observer> inner_;
    std::function<std::size_t()> inflight_;
};

/// Every decision waits `delay` on a timer before it runs, at most `slots` of them at a time, the
/// rest in arrival order: a router whose capacity is about slots / delay decisions a second. The
/// waiting decisions are in flight (backpressure sees them, their latency includes the wait) and
/// hold no thread, so the NATS reader keeps reading and refusing while they wait, as it would
/// when decisions are slow for a reason of their own. Diagnostic only; a decision still waiting
/// when the io_context stops is dropped with it.
class diagnostic_slowdown final : public router::decision_pacer,
                                  public std::enable_shared_from_this<diagnostic_slowdown>
{
public:
    diagnostic_slowdown(boost::asio::any_io_executor ex, std::chrono::microseconds delay, std::size_t slots);
    void hold(std::function<void()> start) override;

private:
    void begin(std::function<void()>& start);
    void finished() noexcept;

    boost::asio::any_io_executor ex_;
    std::chrono::microseconds delay_;
    std::size_t slots_;
    std::mutex mutex_; ///< guards busy_ and waiting_
    std::size_t busy_ = 0;
    std::deque<std::function<void()>> waiting_;
};

} // namespace beamline::app
