#include "beamline/metrics/exposition_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>

namespace beamline::metrics
{

std::optional<std::string_view> sample::label(std::string_view key) const noexcept
{
    for (const auto& [k, v] : labels)
        if (k == key) return std::string_view(v);
    return std::nullopt;
}

namespace
{

bool matches(const sample& s, const std::vector<std::pair<std::string_view, std::string_view>>& match)
{
    return std::all_of(match.begin(), match.end(), [&](const auto& m) { return s.label(m.first) == m.second; });
}

bool name_char(char c, bool first) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

std::optional<double> parse_value(std::string_view t) noexcept
{
    if (t == "+Inf" || t == "Inf") return std::numeric_limits<double>::infinity();
    if (t == "-Inf") return -std::numeric_limits<double>::infinity();
    if (t == "NaN") return std::numeric_limits<double>::quiet_NaN();
    double d = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
    if (ec != std::errc() || p != t.data() + t.size()) return std::nullopt;
    return d;
}

/// One sample line: name, optional {labels}, value, optional timestamp.
std::optional<std::string> parse_line(std::string_view line, sample& out)
{
    std::size_t i = 0;
    while (i < line.size() && name_char(line[i], i == 0)) ++i;
    if (i == 0) return "expected a metric name";
    out.name.assign(line.substr(0, i));
    if (i < line.size() && line[i] == '{')
    {
        ++i;
        while (true)
        {
            while (i < line.size() && (line[i] == ' ' || line[i] == ',')) ++i;
            if (i < line.size() && line[i] == '}')
            {
                ++i;
                break;
            }
            std::size_t k = i;
            while (i < line.size() && name_char(line[i], i == k)) ++i;
            if (i == k) return "expected a label name";
            std::string key(line.substr(k, i - k));
            if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') return "expected =\" after label " + key;
            i += 2;
            std::string value;
            while (true)
            {
                if (i >= line.size()) return "unterminated value of label " + key;
                char c = line[i++];
                if (c == '"') break;
                if (c == '\\')
                {
                    if (i >= line.size()) return "unterminated escape in label " + key;
                    char e = line[i++];
                    value += e == 'n' ? '\n' : e;
                }
                else
                    value += c;
            }
            out.labels.emplace_back(std::move(key), std::move(value));
        }
    }
    while (i < line.size() && line[i] == ' ') ++i;
    std::size_t end = line.find(' ', i);
    auto v = parse_value(line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
    if (!v) return "expected a number after " + out.name;
    out.value = *v;
    return std::nullopt;
}

} // namespace

std::optional<exposition_error> parse_exposition(std::string_view text, exposition& out)
{
    std::size_t number = 0;
    while (!text.empty())
    {
        ++number;
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;
        sample s;
        if (auto e = parse_line(line, s)) return exposition_error{number, *e};
        out.samples.push_back(std::move(s));
    }
    return std::nullopt;
}

std::optional<double> exposition::sum(std::string_view name,
                                      const std::vector<std::pair<std::string_view, std::string_view>>& match) const
{
    std::optional<double> total;
    for (const auto& s : samples)
        if (s.name == name && matches(s, match)) total = total.value_or(0) + s.value;
    return total;
}

std::vector<std::pair<std::string, double>> exposition::sum_by(
    std::string_view name, std::string_view by,
    const std::vector<std::pair<std::string_view, std::string_view>>& match) const
{
    std::map<std::string, double> totals;
    for (const auto& s : samples)
        if (s.name == name && matches(s, match))
            if (auto v = s.label(by)) totals[std::string(*v)] += s.value;
    std::vector<std::pair<std::string, double>> out(totals.begin(), totals.end());
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    return out;
}

std::vector<std::pair<double, double>> exposition::buckets(std::string_view name) const
{
    std::string bucket_name = std::string(name) + "_bucket";
    std::map<double, double> by_bound;
    for (const auto& s : samples)
        if (s.name == bucket_name)
            if (auto le = s.label("le"))
                if (auto bound = parse_value(*le)) by_bound[*bound] += s.value;
    return {by_bound.begin(), by_bound.end()};
}

std::optional<double> histogram_quantile(double q, const std::vector<std::pair<double, double>>& cumulative)
{
    if (cumulative.empty()) return std::nullopt;
    double total = cumulative.back().second;
    if (!(total > 0)) return std::nullopt;
    double rank = q * total;
    double lower_bound = 0;
    double lower_count = 0;
    for (const auto& [bound, count] : cumulative)
    {
        if (count >= rank)
        {
            if (std::isinf(bound)) return lower_bound; // the highest finite bound
            double in_bucket = count - lower_count;
            if (in_bucket <= 0) return bound;
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / in_bucket;
        }
        lower_bound = std::isinf(bound) ? lower_bound : bound;
        lower_count = count;
    }
    return lower_bound;
}

std::vector<std::pair<double, double>> bucket_delta(const std::vector<std::pair<double, double>>& later,
                                                    const std::vector<std::pair<double, double>>& earlier)
{
    std::vector<std::pair<double, double>> out;
    out.reserve(later.size());
    for (const auto& [bound, count] : later)
    {
        double before = 0;
        for (const auto& [b, c] : earlier)
            if (b == bound) before = c;
        out.emplace_back(bound, std::max(0.0, count - before));
    }
    return out;
}

} // namespace beamline::metrics
