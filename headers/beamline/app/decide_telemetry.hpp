#pragma once
// What the daemon counts and logs about decisions: the decide pipeline's observer, wired to the
// metrics registry (handles registered once; the decide path only touches atomics) and the log.

#include "beamline/metrics/registry.hpp"
#include "beamline/router/decide_pipeline.hpp"

#include <array>
#include <cstddef>

namespace beamline::app
{

class decide_telemetry final : public router::decide_observer
{
public:
    decide_telemetry(metrics::registry& reg, std::size_t tenant_label_cap);

    std::unique_ptr<router::tenant_observer> tenant_created(std::string_view tenant_id) override;
    void decided(const router::decide_outcome& out, const router::publish_result& reply,
                 std::chrono::steady_clock::duration latency) noexcept override;
    void assignment_published(const router::decide_outcome& out) noexcept override;
    void assignment_refused(const router::decide_outcome& out, const router::publish_result& why) noexcept override;
    void internal_error(const router::decide_outcome& out, std::string_view what) noexcept override;
    void breaker_transition(std::string_view tenant_id, std::string_view provider_id,
                            const router::breaker_transition& t) noexcept override;

private:
    static constexpr std::size_t reply_errors = 7;
    static constexpr std::size_t decision_reasons = 4;
    static constexpr std::size_t publish_refusals = 4;
    static constexpr std::size_t breaker_states = 3;

    metrics::registry& reg_;
    metrics::label_cap tenant_labels_;
    metrics::capped_family<metrics::counter> tenant_requests_;
    metrics::capped_family<metrics::gauge> breaker_state_;
    /// By [from][to]; null on the diagonal.
    std::array<std::array<metrics::counter*, breaker_states>, breaker_states> breaker_transitions_{};
    metrics::counter& ok_;
    metrics::counter& replay_;
    std::array<metrics::counter*, reply_errors> errors_{};
    std::array<metrics::counter*, decision_reasons> reasons_{};
    std::array<metrics::counter*, publish_refusals> assignment_failures_{};
    metrics::histogram& latency_;
    metrics::counter& reply_failures_;
    metrics::counter& assignments_;
    metrics::counter& rate_limited_;
    metrics::counter& idem_hits_;
    metrics::counter& idem_conflicts_;
};

} // namespace beamline::app
