#pragma once
// A metrics registry built for a hot path that never locks: registering a series takes a mutex and
// returns a reference that stays valid for the registry's lifetime; the caller keeps that reference
// and every increment or observation afterwards is a relaxed atomic on memory it already owns.
// Scraping takes the mutex again and copies the values out into a snapshot.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace beamline::metrics
{

/// Label pairs of one series, in the order they are rendered.
using label_set = std::vector<std::pair<std::string, std::string>>;

enum class metric_type
{
    counter,
    gauge,
    histogram,
};

std::string_view to_string(metric_type t) noexcept;

/// A monotonically increasing count of events.
class counter
{
public:
    void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down (in-flight requests, connection state, store size).
class gauge
{
public:
    static_assert(std::atomic<double>::is_always_lock_free);

    void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
    void add(double d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
    void inc() noexcept { add(1.0); }
    void dec() noexcept { add(-1.0); }
    double value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0.0};
};

/// A distribution over fixed upper bounds (seconds for latencies). Buckets are stored per bound,
/// not cumulatively, so an observation touches exactly one bucket; the scrape accumulates them.
class histogram
{
public:
    /// `bounds` must be finite and strictly increasing; the +Inf bucket is implicit.
    explicit histogram(std::vector<double> bounds);

    void observe(double v) noexcept
    {
        // NaN compares false against every bound, so it lands in +Inf explicitly.
        const auto index = std::isnan(v)
                               ? bounds_.size()
                               : static_cast<std::size_t>(
                                     std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
        buckets_[index].fetch_add(1, std::memory_order_relaxed);
        sum_.fetch_add(v, std::memory_order_relaxed);
    }

    std::span<const double> bounds() const noexcept { return bounds_; }
    /// Per-bucket (non-cumulative) counts; the last one is the +Inf bucket.
    std::vector<std::uint64_t> bucket_counts() const;
    double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
    std::atomic<double> sum_{0.0};
};

/// Bounds `start, start*factor, ...` (`count` of them).
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);
/// Decide latency bounds in seconds: 50 µs to 2.5 s, because decisions are expected in microseconds
/// and anything past a second is an incident.
std::vector<double> latency_buckets();

/// One series as copied out at scrape time.
struct series_snapshot
{
    label_set labels;
    double value = 0;                   ///< counter and gauge
    std::vector<double> bounds;         ///< histogram only
    std::vector<std::uint64_t> buckets; ///< histogram only, non-cumulative, +Inf last
    double sum = 0;                     ///< histogram only
};

struct family_snapshot
{
    std::string name;
    std::string help;
    metric_type type = metric_type::gauge;
    std::vector<series_snapshot> series;
};

class registry;

/// Keeps a callback metric registered; destroying it removes the series, after which the callback
/// is guaranteed not to be running nor to run again (so it may capture objects that die with it).
class [[nodiscard]] callback_registration
{
public:
    callback_registration() = default;
    callback_registration(callback_registration&& other) noexcept;
    callback_registration& operator=(callback_registration&& other) noexcept;
    callback_registration(const callback_registration&) = delete;
    callback_registration& operator=(const callback_registration&) = delete;
    ~callback_registration();

    /// Unregisters now (idempotent).
    void reset() noexcept;

private:
    friend class registry;
    callback_registration(registry* owner, std::uint64_t id) noexcept : owner_(owner), id_(id) {}

    registry* owner_ = nullptr;
    std::uint64_t id_ = 0;
};

/// Owns every metric. Registration is idempotent: asking again for the same name and labels returns
/// the same object. Misuse (an invalid name, a family re-registered with another type, help text or
/// bucket layout, a reserved label) is a programming error and throws std::invalid_argument naming
/// the metric and the cause.
class registry
{
public:
    registry();
    ~registry();
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    /// Counter names must end in `_total` (the exposition convention promtool enforces).
    metrics::counter& counter(std::string_view name, std::string_view help, label_set labels = {});
    metrics::gauge& gauge(std::string_view name, std::string_view help, label_set labels = {});
    metrics::histogram& histogram(std::string_view name, std::string_view help, std::vector<double> bounds,
                                  label_set labels = {});

    /// A counter or gauge whose value is sampled at scrape time, for figures owned elsewhere (NATS
    /// pending bytes, /proc). The callback runs under the registry mutex, from the scraping thread,
    /// so it must be thread-safe and must not touch the registry.
    callback_registration callback(metric_type type, std::string_view name, std::string_view help,
                                   label_set labels, std::function<double()> sample);

    /// Copies every family out, sorted by name, series in registration order.
    std::vector<family_snapshot> snapshot() const;

private:
    friend class callback_registration;
    struct family;
    struct series;

    family& family_for(std::string_view name, std::string_view help, metric_type type,
                       const std::vector<double>* bounds);
    series& series_for(family& f, label_set labels);
    void remove_callback(std::uint64_t id) noexcept;

    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<family>, std::less<>> families_;
    std::uint64_t next_callback_id_ = 1;
};

/// Caps the number of distinct values one label (typically `tenant_id`) may take across the
/// metrics that use it: the first `limit` values seen keep their own series, every later value is
/// reported as `_other`. Sharing one cap between families keeps a tenant either named everywhere or
/// folded everywhere.
class label_cap
{
public:
    static constexpr std::string_view overflow_value = "_other";

    explicit label_cap(std::size_t limit) : limit_(limit) {}

    /// The value to put in the label for `value`: itself while there is room, else `_other`.
    std::string admit(std::string_view value);
    std::size_t distinct() const;

private:
    mutable std::mutex mutex_;
    std::size_t limit_;
    std::vector<std::string> admitted_; // small (the cap), so a sorted vector beats a set
};

/// A family with one capped label, e.g. `router_decisions_total{tenant_id=...,reason=...}`.
/// `get` registers (and so may lock and allocate): call it once per tenant when the tenant's state is
/// created and keep the reference there, not once per event.
template <class Metric>
class capped_family
{
public:
    capped_family(registry& reg, label_cap& cap, std::string name, std::string help, std::string label,
                  label_set fixed = {})
        : registry_(reg), cap_(cap), name_(std::move(name)), help_(std::move(help)), label_(std::move(label)),
          fixed_(std::move(fixed))
    {
    }

    Metric& get(std::string_view value, const label_set& extra = {})
    {
        label_set labels;
        labels.reserve(1 + fixed_.size() + extra.size());
        labels.emplace_back(label_, cap_.admit(value));
        labels.insert(labels.end(), fixed_.begin(), fixed_.end());
        labels.insert(labels.end(), extra.begin(), extra.end());
        return make(std::move(labels));
    }

private:
    Metric& make(label_set labels);

    registry& registry_;
    label_cap& cap_;
    std::string name_;
    std::string help_;
    std::string label_;
    label_set fixed_;
};

template <>
inline counter& capped_family<counter>::make(label_set labels)
{
    return registry_.counter(name_, help_, std::move(labels));
}

template <>
inline gauge& capped_family<gauge>::make(label_set labels)
{
    return registry_.gauge(name_, help_, std::move(labels));
}

} // namespace beamline::metrics
