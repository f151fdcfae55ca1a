#pragma once
// Backpressure plugged into router::decide_pipeline: the admission gate the pipeline asks before
// any intake work, and an observer around the daemon's own (every call is passed on) that feeds
// the latency input with each decision and applies backpressure.diagnostic_decide_delay_us.

#include "beamline/app/backpressure_gate.hpp"
#include "beamline/router/decide_pipeline.hpp"

#include <functional>
#include <memory>

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
                 std::chrono::steady_clock::duration latency) noexcept override;
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

} // namespace beamline::app
