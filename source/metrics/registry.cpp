#include "beamline/metrics/registry.hpp"

#include <stdexcept>
#include <variant>

namespace beamline::metrics
{
namespace
{

bool is_name_start(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool is_name_char(char c) noexcept
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

[[noreturn]] void misuse(std::string_view metric, std::string_view cause)
{
    throw std::invalid_argument("metric '" + std::string(metric) + "': " + std::string(cause));
}

void check_metric_name(std::string_view name)
{
    // Colons are legal in the format but reserved for recording rules, so they are refused here.
    if (name.empty() || !is_name_start(name.front()) || !std::all_of(name.begin(), name.end(), is_name_char))
        misuse(name, "name must match [a-zA-Z_][a-zA-Z0-9_]*");
}

void check_labels(std::string_view metric, metric_type type, const label_set& labels)
{
    for (std::size_t i = 0; i < labels.size(); ++i)
    {
        const auto& key = labels[i].first;
        if (key.empty() || !is_name_start(key.front()) || !std::all_of(key.begin(), key.end(), is_name_char))
            misuse(metric, "label name '" + key + "' must match [a-zA-Z_][a-zA-Z0-9_]*");
        if (key.starts_with("__")) misuse(metric, "label name '" + key + "' is reserved (starts with __)");
        if (type == metric_type::histogram && key == "le")
            misuse(metric, "label name 'le' is reserved for histogram buckets");
        for (std::size_t j = 0; j < i; ++j)
            if (labels[j].first == key) misuse(metric, "label name '" + key + "' given twice");
    }
}

void check_bounds(std::string_view metric, const std::vector<double>& bounds)
{
    for (std::size_t i = 0; i < bounds.size(); ++i)
    {
        if (!std::isfinite(bounds[i])) misuse(metric, "histogram bounds must be finite (+Inf is implicit)");
        if (i > 0 && !(bounds[i - 1] < bounds[i]))
            misuse(metric, "histogram bounds must be strictly increasing");
    }
}

/// The metric held in a series slot, created on first registration.
template <class Metric, class Slot, class... Args>
Metric& ensure_metric(Slot& slot, bool is_callback, std::string_view name, const Args&... args)
{
    if (is_callback) misuse(name, "series already registered as a callback");
    auto* held = std::get_if<std::unique_ptr<Metric>>(&slot);
    if (!held || !*held)
    {
        slot = std::make_unique<Metric>(args...);
        held = std::get_if<std::unique_ptr<Metric>>(&slot);
    }
    return **held;
}

} // namespace

std::string_view to_string(metric_type t) noexcept
{
    switch (t)
    {
    case metric_type::counter:
        return "counter";
    case metric_type::gauge:
        return "gauge";
    case metric_type::histogram:
        return "histogram";
    }
    return "untyped";
}

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1))
{
}

std::vector<std::uint64_t> histogram::bucket_counts() const
{
    std::vector<std::uint64_t> out(bounds_.size() + 1);
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = buckets_[i].load(std::memory_order_relaxed);
    return out;
}

std::vector<double> exponential_buckets(double start, double factor, std::size_t count)
{
    std::vector<double> out;
    out.reserve(count);
    for (double b = start; out.size() < count; b *= factor)
        out.push_back(b);
    return out;
}

std::vector<double> latency_buckets()
{
    return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
            0.025,   0.05,   0.1,     0.25,   0.5,   1.0,    2.5};
}

struct registry::series
{
    label_set labels;
    // Exactly one alternative is used, chosen by the family type (callbacks may be either scalar type).
    std::variant<std::unique_ptr<metrics::counter>, std::unique_ptr<metrics::gauge>,
                 std::unique_ptr<metrics::histogram>, std::function<double()>>
        metric;
    std::uint64_t callback_id = 0;
};

struct registry::family
{
    std::string name;
    std::string help;
    metric_type type;
    std::vector<double> bounds;
    // Callers hold the heap-allocated metric, never the series, so this vector may move and erase.
    std::vector<series> members;
};

registry::registry() = default;
registry::~registry() = default;

registry::family& registry::family_for(std::string_view name, std::string_view help, metric_type type,
                                       const std::vector<double>* bounds)
{
    auto it = families_.find(name);
    if (it == families_.end())
    {
        check_metric_name(name);
        if (type == metric_type::counter && !name.ends_with("_total"))
            misuse(name, "counter names must end in _total");
        if (bounds) check_bounds(name, *bounds);
        auto f = std::make_unique<family>(
            family{std::string(name), std::string(help), type, bounds ? *bounds : std::vector<double>{}, {}});
        it = families_.emplace(std::string(name), std::move(f)).first;
        return *it->second;
    }
    auto& f = *it->second;
    if (f.type != type) misuse(name, "already registered as a " + std::string(to_string(f.type)));
    if (f.help != help) misuse(name, "already registered with different help text");
    if (bounds && f.bounds != *bounds) misuse(name, "already registered with different histogram bounds");
    return f;
}

registry::series& registry::series_for(family& f, label_set labels)
{
    for (auto& s : f.members)
        if (s.labels == labels) return s;
    check_labels(f.name, f.type, labels);
    return f.members.emplace_back(series{std::move(labels), {}, 0});
}

metrics::counter& registry::counter(std::string_view name, std::string_view help, label_set labels)
{
    std::lock_guard lock(mutex_);
    auto& s = series_for(family_for(name, help, metric_type::counter, nullptr), std::move(labels));
    return ensure_metric<metrics::counter>(s.metric, s.callback_id != 0, name);
}

metrics::gauge& registry::gauge(std::string_view name, std::string_view help, label_set labels)
{
    std::lock_guard lock(mutex_);
    auto& s = series_for(family_for(name, help, metric_type::gauge, nullptr), std::move(labels));
    return ensure_metric<metrics::gauge>(s.metric, s.callback_id != 0, name);
}

metrics::histogram& registry::histogram(std::string_view name, std::string_view help,
                                        std::vector<double> bounds, label_set labels)
{
    std::lock_guard lock(mutex_);
    auto& f = family_for(name, help, metric_type::histogram, &bounds);
    auto& s = series_for(f, std::move(labels));
    return ensure_metric<metrics::histogram>(s.metric, false, name, f.bounds);
}

callback_registration registry::callback(metric_type type, std::string_view name, std::string_view help,
                                         label_set labels, std::function<double()> sample)
{
    if (type == metric_type::histogram) misuse(name, "callback metrics are counters or gauges");
    if (!sample) misuse(name, "callback is empty");
    std::lock_guard lock(mutex_);
    auto& f = family_for(name, help, type, nullptr);
    for (const auto& s : f.members)
        if (s.labels == labels) misuse(name, "series already registered");
    check_labels(f.name, f.type, labels);
    const auto id = next_callback_id_++;
    f.members.emplace_back(series{std::move(labels), std::move(sample), id});
    return callback_registration(this, id);
}

void registry::remove_callback(std::uint64_t id) noexcept
{
    std::lock_guard lock(mutex_);
    for (auto it = families_.begin(); it != families_.end(); ++it)
    {
        auto& members = it->second->members;
        auto s = std::find_if(members.begin(), members.end(),
                              [id](const series& m) { return m.callback_id == id; });
        if (s == members.end()) continue;
        members.erase(s);
        if (members.empty()) families_.erase(it);
        return;
    }
}

std::vector<family_snapshot> registry::snapshot() const
{
    std::lock_guard lock(mutex_);
    std::vector<family_snapshot> out;
    out.reserve(families_.size());
    for (const auto& [name, f] : families_)
    {
        family_snapshot fs{f->name, f->help, f->type, {}};
        fs.series.reserve(f->members.size());
        for (const auto& s : f->members)
        {
            series_snapshot ss{s.labels, 0, {}, {}, 0};
            if (const auto* c = std::get_if<std::unique_ptr<metrics::counter>>(&s.metric))
                ss.value = static_cast<double>((*c)->value());
            else if (const auto* g = std::get_if<std::unique_ptr<metrics::gauge>>(&s.metric))
                ss.value = (*g)->value();
            else if (const auto* h = std::get_if<std::unique_ptr<metrics::histogram>>(&s.metric))
            {
                ss.bounds = f->bounds;
                ss.buckets = (*h)->bucket_counts();
                ss.sum = (*h)->sum();
            }
            else if (const auto* fn = std::get_if<std::function<double()>>(&s.metric); fn && *fn)
                ss.value = (*fn)();
            else
                continue;
            fs.series.push_back(std::move(ss));
        }
        if (!fs.series.empty()) out.push_back(std::move(fs));
    }
    return out;
}

callback_registration::callback_registration(callback_registration&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), id_(std::exchange(other.id_, 0))
{
}

callback_registration& callback_registration::operator=(callback_registration&& other) noexcept
{
    if (this != &other)
    {
        reset();
        owner_ = std::exchange(other.owner_, nullptr);
        id_ = std::exchange(other.id_, 0);
    }
    return *this;
}

callback_registration::~callback_registration()
{
    reset();
}

void callback_registration::reset() noexcept
{
    if (owner_) owner_->remove_callback(id_);
    owner_ = nullptr;
    id_ = 0;
}

std::string label_cap::admit(std::string_view value)
{
    std::lock_guard lock(mutex_);
    auto it = std::lower_bound(admitted_.begin(), admitted_.end(), value);
    if (it != admitted_.end() && *it == value) return *it;
    if (admitted_.size() >= limit_) return std::string(overflow_value);
    return *admitted_.insert(it, std::string(value));
}

std::size_t label_cap::distinct() const
{
    std::lock_guard lock(mutex_);
    return admitted_.size();
}

} // namespace beamline::metrics
