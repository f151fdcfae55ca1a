#include "beamline/app/backpressure_hooks.hpp"

#include <thread>

namespace beamline::app
{

backpressure_hooks::backpressure_hooks(std::shared_ptr<backpressure_gate> gate,
                                       std::shared_ptr<router::decide_observer> inner,
                                       std::function<std::size_t()> inflight)
    : gate_(std::move(gate)), inner_(std::move(inner)), inflight_(std::move(inflight))
{
}

std::optional<router::overload_refusal> backpressure_hooks::check() noexcept
{
    const std::size_t n = inflight_();
    auto retry_after = gate_->admit(n > 0 ? n - 1 : 0);
    if (!retry_after) return std::nullopt;
    try
    {
        return router::overload_refusal{*retry_after,
                                        "the router is overloaded (backpressure active); retry after retry_after_ms"};
    }
    catch (...)
    {
        return router::overload_refusal{*retry_after, {}};
    }
}

std::unique_ptr<router::tenant_observer> backpressure_hooks::tenant_created(std::string_view tenant_id)
{
    return inner_ ? inner_->tenant_created(tenant_id) : nullptr;
}

void backpressure_hooks::decided(const router::decide_outcome& out, const router::publish_result& reply,
                                 std::chrono::steady_clock::duration latency) noexcept
{
    if (inner_) inner_->decided(out, reply, latency);
    // Refusals for overload are not decisions: their microseconds would hide the overload.
    if (out.error == router::reply_error::overloaded) return;
    try
    {
        gate_->record_latency(latency);
    }
    catch (...)
    {
        // A lock that cannot be taken loses one sample, nothing else.
    }
    // A decision is told here on its tenant's strand, so the delay holds that tenant's next one.
    if (const auto delay = gate_->diagnostic_decide_delay(); delay.count() > 0 && !out.error)
        std::this_thread::sleep_for(delay);
}

void backpressure_hooks::assignment_published(const router::decide_outcome& out) noexcept
{
    if (inner_) inner_->assignment_published(out);
}

void backpressure_hooks::assignment_refused(const router::decide_outcome& out, const router::publish_result& why) noexcept
{
    if (inner_) inner_->assignment_refused(out, why);
}

void backpressure_hooks::internal_error(const router::decide_outcome& out, std::string_view what) noexcept
{
    if (inner_) inner_->internal_error(out, what);
}

void backpressure_hooks::breaker_transition(std::string_view tenant_id, std::string_view provider_id,
                                            const router::breaker_transition& t) noexcept
{
    if (inner_) inner_->breaker_transition(tenant_id, provider_id, t);
}

} // namespace beamline::app
