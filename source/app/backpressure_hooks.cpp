#include "beamline/app/backpressure_hooks.hpp"

#include <boost/asio/steady_timer.hpp>

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
                                 std::chrono::steady_clock::duration latency,
                                 std::chrono::steady_clock::time_point finished) noexcept
{
    if (inner_) inner_->decided(out, reply, latency, finished);
    // Refusals for overload are not decisions: their microseconds would hide the overload.
    if (out.error == router::reply_error::overloaded) return;
    try
    {
        gate_->record_latency(latency, finished);
    }
    catch (...)
    {
        // A lock that cannot be taken loses one sample, nothing else.
    }
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

diagnostic_slowdown::diagnostic_slowdown(boost::asio::any_io_executor ex, std::chrono::microseconds delay,
                                         std::size_t slots)
    : ex_(std::move(ex)), delay_(delay), slots_(std::max<std::size_t>(slots, 1))
{
}

void diagnostic_slowdown::hold(std::function<void()> start)
{
    {
        std::lock_guard lock(mutex_);
        if (busy_ >= slots_)
        {
            waiting_.push_back(std::move(start));
            return;
        }
        ++busy_;
    }
    try
    {
        begin(start);
    }
    catch (...)
    {
        // Not started (out of memory): the slot is free again and the caller still holds the decision.
        std::lock_guard lock(mutex_);
        --busy_;
        throw;
    }
}

// `start` is moved from only once the timer exists, so a throw leaves it to the caller.
void diagnostic_slowdown::begin(std::function<void()>& start)
{
    auto timer = std::make_shared<boost::asio::steady_timer>(ex_, delay_);
    timer->async_wait([self = shared_from_this(), timer, start = std::move(start)](boost::system::error_code) {
        start();
        self->finished();
    });
}

void diagnostic_slowdown::finished() noexcept
{
    // The slot passes to the longest waiting decision, if any.
    for (;;)
    {
        std::function<void()> next;
        {
            std::lock_guard lock(mutex_);
            if (waiting_.empty())
            {
                --busy_;
                return;
            }
            next = std::move(waiting_.front());
            waiting_.pop_front();
        }
        try
        {
            begin(next);
            return;
        }
        catch (...)
        {
            // Out of memory arming the timer: run it now rather than lose it, and try the next.
            next();
        }
    }
}

} // namespace beamline::app
