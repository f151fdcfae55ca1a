#include "beamline/metrics/prometheus.hpp"

#include <charconv>
#include <cmath>

namespace beamline::metrics
{
namespace
{

/// Label values escape the double quote that delimits them; HELP text runs to the end of the line.
void append_escaped(std::string& out, std::string_view text, bool escape_quote)
{
    for (char c : text)
    {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && escape_quote)
            out += "\\\"";
        else
            out += c;
    }
}

void append_labels(std::string& out, const label_set& labels, std::string_view le = {})
{
    if (labels.empty() && le.empty()) return;
    out += '{';
    bool first = true;
    for (const auto& [key, value] : labels)
    {
        if (!first) out += ',';
        first = false;
        out += key;
        out += "=\"";
        append_escaped_label_value(out, value);
        out += '"';
    }
    if (!le.empty())
    {
        if (!first) out += ',';
        out += "le=\"";
        out += le;
        out += '"';
    }
    out += '}';
}

void append_sample(std::string& out, std::string_view name, std::string_view suffix, const label_set& labels,
                   double value, std::string_view le = {})
{
    out += name;
    out += suffix;
    append_labels(out, labels, le);
    out += ' ';
    append_number(out, value);
    out += '\n';
}

void append_histogram(std::string& out, std::string_view name, const series_snapshot& s)
{
    std::string le;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < s.buckets.size(); ++i)
    {
        cumulative += s.buckets[i];
        le.clear();
        if (i < s.bounds.size())
            append_number(le, s.bounds[i]);
        else
            le = "+Inf";
        append_sample(out, name, "_bucket", s.labels, static_cast<double>(cumulative), le);
    }
    append_sample(out, name, "_sum", s.labels, s.sum);
    // _count is the +Inf bucket by definition, so it is never inconsistent with the buckets.
    append_sample(out, name, "_count", s.labels, static_cast<double>(cumulative));
}

} // namespace

void append_number(std::string& out, double value)
{
    if (std::isnan(value))
    {
        out += "NaN";
        return;
    }
    if (std::isinf(value))
    {
        out += value > 0 ? "+Inf" : "-Inf";
        return;
    }
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, res.ptr);
}

void append_escaped_label_value(std::string& out, std::string_view value)
{
    append_escaped(out, value, true);
}

void append_escaped_help(std::string& out, std::string_view help)
{
    append_escaped(out, help, false);
}

void write_text(std::string& out, const std::vector<family_snapshot>& families)
{
    for (const auto& f : families)
    {
        out += "# HELP ";
        out += f.name;
        out += ' ';
        append_escaped_help(out, f.help);
        out += "\n# TYPE ";
        out += f.name;
        out += ' ';
        out += to_string(f.type);
        out += '\n';
        for (const auto& s : f.series)
        {
            if (f.type == metric_type::histogram)
                append_histogram(out, f.name, s);
            else
                append_sample(out, f.name, {}, s.labels, s.value);
        }
    }
}

std::string render_text(const registry& reg)
{
    std::string out;
    write_text(out, reg.snapshot());
    return out;
}

} // namespace beamline::metrics
