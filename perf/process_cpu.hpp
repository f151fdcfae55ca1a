#pragma once
// CPU time of other processes over a measured window, from /proc/<pid>/stat (utime + stime, the
// whole thread group, in clock ticks): what the load generator reports for the responders and
// nats-server, so a benchmark can state CPU microseconds per reply for each.

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace beamline::perf
{

// utime + stime of `pid` in microseconds; nullopt when the process is gone or unreadable.
inline std::optional<std::uint64_t> process_cpu_us(long pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!in || !std::getline(in, text)) return std::nullopt;
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const auto close = text.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(text.substr(close + 1));
    std::string field;
    std::uint64_t utime = 0;
    std::uint64_t stime = 0;
    for (int index = 3; fields >> field; ++index)
    {
        if (index == 14) utime = std::stoull(field);
        if (index == 15)
        {
            stime = std::stoull(field);
            const long ticks = sysconf(_SC_CLK_TCK);
            return (utime + stime) * 1'000'000 / static_cast<std::uint64_t>(ticks > 0 ? ticks : 100);
        }
    }
    return std::nullopt;
}

// This process's own CPU time (every thread), in microseconds.
inline std::uint64_t own_cpu_us()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto us = [](const timeval& t) { return std::uint64_t(t.tv_sec) * 1'000'000 + std::uint64_t(t.tv_usec); };
    return us(usage.ru_utime) + us(usage.ru_stime);
}

// Labelled processes (a label may name several, e.g. two responders in one queue group) sampled
// at the start and the end of a window.
class CpuWindow
{
public:
    void watch(std::string label, long pid) { watched_.push_back({std::move(label), pid, 0, 0, true}); }
    [[nodiscard]] bool empty() const { return watched_.empty(); }

    void begin()
    {
        for (Watched& w : watched_)
            w.ok = sample(w, w.start);
        self_start_ = own_cpu_us();
    }

    void end()
    {
        for (Watched& w : watched_)
            w.ok = w.ok && sample(w, w.stop);
        self_stop_ = own_cpu_us();
    }

    // {"label":us,...,"loadgen":us}; a label whose process vanished during the window is null.
    [[nodiscard]] std::string json() const
    {
        std::vector<std::string> labels;
        for (const Watched& w : watched_)
            if (std::find(labels.begin(), labels.end(), w.label) == labels.end()) labels.push_back(w.label);
        std::ostringstream out;
        out << '{';
        for (const std::string& label : labels)
        {
            std::uint64_t total = 0;
            bool ok = true;
            for (const Watched& w : watched_)
                if (w.label == label)
                {
                    ok = ok && w.ok;
                    total += w.stop - w.start;
                }
            out << '"' << label << "\":";
            if (ok)
                out << total;
            else
                out << "null";
            out << ',';
        }
        out << "\"loadgen\":" << (self_stop_ - self_start_) << '}';
        return out.str();
    }

private:
    struct Watched
    {
        std::string label;
        long pid;
        std::uint64_t start;
        std::uint64_t stop;
        bool ok;
    };

    static bool sample(const Watched& w, std::uint64_t& out)
    {
        const auto value = process_cpu_us(w.pid);
        if (value) out = *value;
        return value.has_value();
    }

    std::vector<Watched> watched_;
    std::uint64_t self_start_ = 0;
    std::uint64_t self_stop_ = 0;
};

} // namespace beamline::perf
