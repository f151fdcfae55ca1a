#pragma once
// What the daemon counts and logs about decisions: the decide pipeline's observer, wired to the
// metrics registry (handles registered once; the decide path only touches atomics) and the log.

#include "beamline/metrics/registry.hpp"
#include "beamline/router/decide_pipeline.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

namespace beamline::app
{

class decide_telemetry final : public router::decide_observer
{
public:
    decide_telemetry(metrics::registry& reg, std::size_t tenant_label_cap);

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
    /// Accepted requests by the sources of (trace_id, tenant_id, version): one relaxed increment
    /// per decision, on a per-combination cell; the per-field series add the cells up at scrape.
    static constexpr std::size_t sources = router::field_source_count;
    using source_cells = std::array<std::atomic<std::uint64_t>, sources * sources * sources>;
    static std::size_t cell_of(const router::correlation_sources& s) noexcept
    {
        return (static_cast<std::size_t>(s.trace_id) * sources + static_cast<std::size_t>(s.tenant_id)) * sources +
               static_cast<std::size_t>(s.version);
    }
    void register_correlation_sources();

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
    metrics::counter& idem_misses_;
    std::unique_ptr<source_cells> source_cells_ = std::make_unique<source_cells>();
    std::vector<metrics::callback_registration> source_series_;
};

} // namespace beamline::app
