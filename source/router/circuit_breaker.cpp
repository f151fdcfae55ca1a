#include "beamline/router/circuit_breaker.hpp"

#include <algorithm>
#include <cctype>

namespace beamline::router
{

std::string_view to_string(breaker_state s) noexcept
{
    switch (s)
    {
    case breaker_state::closed: return "closed";
    case breaker_state::open: return "open";
    case breaker_state::half_open: return "half_open";
    }
    return "closed";
}

std::string_view to_string(breaker_outcome o) noexcept
{
    switch (o)
    {
    case breaker_outcome::success: return "success";
    case breaker_outcome::failure: return "failure";
    case breaker_outcome::ignored: return "ignored";
    }
    return "ignored";
}

const std::vector<std::string_view>& provider_fault_names()
{
    // Timeouts, connection failures, unavailability, 5xx and server errors: faults of the
    // provider. Anything else an `error` result names (bad input, quota, content policy) is the
    // caller's and leaves the breaker alone. docs/results.md lists the same names.
    static const std::vector<std::string_view> names{
        "timeout",          "provider_timeout",    "gateway_timeout",     "connection_error",
        "connection_refused", "connection_reset",  "connection_timeout",  "network_error",
        "unavailable",      "provider_unavailable", "service_unavailable", "5xx",
        "http_5xx",         "http_500",            "http_502",            "http_503",
        "http_504",         "500",                 "502",                 "503",
        "504",              "server_error",        "internal_server_error", "bad_gateway",
    };
    return names;
}

namespace
{

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept
{
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool names_provider_fault(std::string_view s) noexcept
{
    if (s.empty()) return false;
    const auto& names = provider_fault_names();
    return std::any_of(names.begin(), names.end(), [s](std::string_view n) { return equals_ignoring_case(s, n); });
}

} // namespace

breaker_outcome classify_result(std::string_view status, std::string_view error_code, std::string_view error_type) noexcept
{
    if (status == "success") return breaker_outcome::success;
    if (status == "timeout") return breaker_outcome::failure;
    if (status == "error" && (names_provider_fault(error_code) || names_provider_fault(error_type)))
        return breaker_outcome::failure;
    return breaker_outcome::ignored;
}

// ---------------------------------------------------------------------------------------------

circuit_breaker::circuit_breaker(const circuit_breaker_config& cfg) : cfg_(cfg) {}

void circuit_breaker::configure(const circuit_breaker_config& cfg)
{
    // Buckets are slots of window/window_buckets: a new window length makes the old slots
    // meaningless, so the counts start again.
    if (cfg.window != cfg_.window) window_.fill(bucket{});
    cfg_ = cfg;
}

std::chrono::nanoseconds circuit_breaker::bucket_length() const noexcept
{
    auto len = std::chrono::duration_cast<std::chrono::nanoseconds>(cfg_.window) /
               static_cast<std::int64_t>(window_buckets);
    return std::max(len, std::chrono::nanoseconds(1));
}

std::int64_t circuit_breaker::slot_of(clock::time_point now) const noexcept
{
    return now.time_since_epoch() / bucket_length();
}

void circuit_breaker::count(bool failure, clock::time_point now) noexcept
{
    const auto slot = slot_of(now);
    auto& b = window_[static_cast<std::size_t>(slot % static_cast<std::int64_t>(window_buckets))];
    if (b.slot != slot) b = bucket{slot, 0, 0};
    ++b.requests;
    if (failure) ++b.failures;
}

std::pair<std::uint32_t, std::uint32_t> circuit_breaker::window_totals(clock::time_point now) const noexcept
{
    const auto slot = slot_of(now);
    std::uint32_t requests = 0;
    std::uint32_t failures = 0;
    for (const auto& b : window_)
        if (b.slot >= 0 && b.slot > slot - static_cast<std::int64_t>(window_buckets) && b.slot <= slot)
        {
            requests += b.requests;
            failures += b.failures;
        }
    return {requests, failures};
}

breaker_transition circuit_breaker::move(breaker_state to, std::string_view reason, clock::time_point now)
{
    breaker_transition t{state_, to, reason};
    state_ = to;
    half_open_calls_ = 0;
    half_open_successes_ = 0;
    if (to == breaker_state::open) opened_at_ = now;
    if (to == breaker_state::closed)
    {
        consecutive_failures_ = 0;
        window_.fill(bucket{}); // a recovered provider starts with a clean record
    }
    return t;
}

bool circuit_breaker::trials_lapsed(clock::time_point now) const noexcept
{
    return state_ == breaker_state::half_open && half_open_calls_ > 0 && now - last_trial_at_ >= cfg_.timeout;
}

std::optional<breaker_transition> circuit_breaker::settle(clock::time_point now)
{
    if (state_ == breaker_state::open && now - opened_at_ >= cfg_.timeout)
        return move(breaker_state::half_open, "timeout_elapsed", now);
    return std::nullopt;
}

breaker_state circuit_breaker::state(clock::time_point now) const noexcept
{
    if (state_ == breaker_state::open && now - opened_at_ >= cfg_.timeout) return breaker_state::half_open;
    return state_;
}

bool circuit_breaker::allows(clock::time_point now) const noexcept
{
    switch (state(now))
    {
    case breaker_state::closed: return true;
    case breaker_state::open: return false;
    case breaker_state::half_open:
        // Still formally open: no trial taken yet.
        if (state_ == breaker_state::open) return cfg_.half_open_max_calls > 0;
        return half_open_calls_ < static_cast<std::uint32_t>(cfg_.half_open_max_calls) || trials_lapsed(now);
    }
    return true;
}

std::optional<breaker_transition> circuit_breaker::admit(clock::time_point now)
{
    auto t = settle(now);
    if (state_ != breaker_state::half_open) return t;
    // Trials whose results never came (an assignment not published, a job lost) would keep the
    // provider out for good: after a timeout with no answer the trials are offered again.
    if (trials_lapsed(now)) half_open_calls_ = 0;
    ++half_open_calls_;
    last_trial_at_ = now;
    return t;
}

std::optional<breaker_transition> circuit_breaker::record(breaker_outcome outcome, clock::time_point now)
{
    if (outcome == breaker_outcome::ignored) return std::nullopt;
    auto lazy = settle(now);
    const bool failure = outcome == breaker_outcome::failure;

    switch (state_)
    {
    case breaker_state::open:
        // Late results of calls made before it opened: they do not move it.
        return lazy;
    case breaker_state::half_open:
        if (failure) return move(breaker_state::open, "trial_failed", now);
        if (++half_open_successes_ >= static_cast<std::uint32_t>(cfg_.success_threshold))
            return move(breaker_state::closed, "trials_succeeded", now);
        return lazy;
    case breaker_state::closed:
        break;
    }

    count(failure, now);
    consecutive_failures_ = failure ? consecutive_failures_ + 1 : 0;
    if (!failure) return std::nullopt;
    if (consecutive_failures_ >= static_cast<std::uint32_t>(cfg_.failure_threshold))
        return move(breaker_state::open, "failure_threshold", now);
    auto [requests, failures] = window_totals(now);
    if (requests > 0 && requests >= static_cast<std::uint32_t>(cfg_.min_requests) &&
        static_cast<double>(failures) / requests >= cfg_.error_rate_threshold)
        return move(breaker_state::open, "error_rate", now);
    return std::nullopt;
}

std::optional<breaker_transition> circuit_breaker::reset(clock::time_point now)
{
    if (state_ == breaker_state::closed)
    {
        consecutive_failures_ = 0;
        window_.fill(bucket{});
        return std::nullopt;
    }
    return move(breaker_state::closed, "reset", now);
}

circuit_breaker::snapshot circuit_breaker::inspect(clock::time_point now) const noexcept
{
    auto [requests, failures] = window_totals(now);
    snapshot s{state(now), requests, failures, consecutive_failures_, half_open_calls_, half_open_successes_, {}};
    if (s.state == breaker_state::open)
        s.open_remaining = std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.timeout - (now - opened_at_));
    return s;
}

// ---------------------------------------------------------------------------------------------

const circuit_breaker* breaker_board::find(std::string_view provider) const noexcept
{
    auto it = breakers_.find(provider);
    return it == breakers_.end() ? nullptr : &it->second;
}

circuit_breaker* breaker_board::find(std::string_view provider) noexcept
{
    auto it = breakers_.find(provider);
    return it == breakers_.end() ? nullptr : &it->second;
}

bool breaker_board::excludes(std::string_view provider, const circuit_breaker_config& cfg,
                             clock::time_point now) const noexcept
{
    if (!cfg.enabled) return false;
    const auto* b = find(provider);
    return b && !b->allows(now);
}

std::optional<breaker_transition> breaker_board::admit(std::string_view provider, clock::time_point now)
{
    auto* b = find(provider);
    return b ? b->admit(now) : std::nullopt;
}

std::optional<breaker_transition> breaker_board::record(std::string_view provider, breaker_outcome outcome,
                                                        const circuit_breaker_config& cfg, clock::time_point now)
{
    if (!cfg.enabled || outcome == breaker_outcome::ignored) return std::nullopt;
    auto* b = find(provider);
    if (!b)
    {
        if (breakers_.size() >= max_)
        {
            ++untracked_;
            return std::nullopt;
        }
        b = &breakers_.emplace(std::string(provider), circuit_breaker(cfg)).first->second;
    }
    else
        b->configure(cfg);
    return b->record(outcome, now);
}

std::size_t breaker_board::reset(std::string_view provider, clock::time_point now)
{
    if (!provider.empty())
    {
        auto* b = find(provider);
        if (!b) return 0;
        b->reset(now);
        return 1;
    }
    for (auto& [name, b] : breakers_) b.reset(now);
    return breakers_.size();
}

std::optional<breaker_state> breaker_board::state(std::string_view provider, clock::time_point now) const noexcept
{
    const auto* b = find(provider);
    return b ? std::optional(b->state(now)) : std::nullopt;
}

std::optional<circuit_breaker::snapshot> breaker_board::inspect(std::string_view provider,
                                                                clock::time_point now) const noexcept
{
    const auto* b = find(provider);
    return b ? std::optional(b->inspect(now)) : std::nullopt;
}

std::vector<breaker_board::entry> breaker_board::list(clock::time_point now) const
{
    std::vector<entry> out;
    out.reserve(breakers_.size());
    for (const auto& [name, b] : breakers_) out.push_back({name, b.inspect(now)});
    std::sort(out.begin(), out.end(), [](const entry& a, const entry& b) { return a.provider < b.provider; });
    return out;
}

} // namespace beamline::router
