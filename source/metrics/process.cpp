#include "beamline/metrics/process.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

namespace beamline::metrics
{
namespace
{

std::string read_file(const char* path)
{
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::optional<double> boot_time_seconds()
{
    std::istringstream in(read_file("/proc/stat"));
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with("btime ")) return std::stod(line.substr(6));
    return std::nullopt;
}

/// Fields of /proc/self/stat after the command name (which may itself hold spaces and parentheses,
/// hence the search for the last ')'), numbered as in proc(5) minus 3: state is field 3.
std::vector<std::string_view> stat_fields(const std::string& stat)
{
    std::vector<std::string_view> fields;
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return fields;
    std::string_view rest(stat);
    rest.remove_prefix(close + 1);
    while (!rest.empty())
    {
        const auto start = rest.find_first_not_of(" \n");
        if (start == std::string_view::npos) break;
        rest.remove_prefix(start);
        const auto end = rest.find_first_of(" \n");
        fields.push_back(rest.substr(0, end));
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end);
    }
    return fields;
}

std::optional<double> field_as_number(const std::vector<std::string_view>& fields, std::size_t proc5_index)
{
    const auto i = proc5_index - 3;
    if (i >= fields.size()) return std::nullopt;
    unsigned long long v = 0;
    const auto f = fields[i];
    if (std::from_chars(f.data(), f.data() + f.size(), v).ec != std::errc{}) return std::nullopt;
    return static_cast<double>(v);
}

} // namespace

process_sample read_process_sample()
{
    process_sample s;
    const auto ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const auto page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    const auto stat = read_file("/proc/self/stat");
    const auto fields = stat_fields(stat);
    const auto utime = field_as_number(fields, 14);
    const auto stime = field_as_number(fields, 15);
    if (utime && stime && ticks > 0) s.cpu_seconds = (*utime + *stime) / ticks;
    if (const auto start = field_as_number(fields, 22); start && ticks > 0)
        if (const auto boot = boot_time_seconds()) s.start_time_seconds = *boot + *start / ticks;
    s.virtual_bytes = field_as_number(fields, 23);
    if (const auto rss = field_as_number(fields, 24); rss && page > 0) s.resident_bytes = *rss * page;

    std::error_code ec;
    std::filesystem::directory_iterator dir("/proc/self/fd", ec);
    if (!ec)
    {
        // The iterator's own descriptor is among the entries; it is not one the process holds.
        const auto n = std::distance(dir, std::filesystem::directory_iterator{});
        s.open_fds = static_cast<double>(n > 0 ? n - 1 : 0);
    }
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
        s.max_fds = static_cast<double>(lim.rlim_cur);
    return s;
}

std::vector<callback_registration> register_process_metrics(registry& reg)
{
    using field = std::optional<double> process_sample::*;
    struct spec
    {
        metric_type type;
        const char* name;
        const char* help;
        field member;
    };
    static constexpr spec sampled[] = {
        {metric_type::counter, "process_cpu_seconds_total",
         "Total user and system CPU time spent in seconds.", &process_sample::cpu_seconds},
        {metric_type::gauge, "process_resident_memory_bytes", "Resident memory size in bytes.",
         &process_sample::resident_bytes},
        {metric_type::gauge, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
         &process_sample::virtual_bytes},
        {metric_type::gauge, "process_open_fds", "Number of open file descriptors.",
         &process_sample::open_fds},
        {metric_type::gauge, "process_max_fds", "Maximum number of open file descriptors.",
         &process_sample::max_fds},
    };
    // One scrape samples every figure; reading /proc once per scrape instead of once per figure.
    // The registry runs callbacks one at a time under its mutex, so the cache needs no lock of its own.
    struct cache
    {
        process_sample sample;
        std::chrono::steady_clock::time_point taken{};
    };
    auto shared = std::make_shared<cache>();
    std::vector<callback_registration> out;
    for (const auto& m : sampled)
        out.push_back(reg.callback(m.type, m.name, m.help, {},
                                   [shared, member = m.member]
                                   {
                                       const auto now = std::chrono::steady_clock::now();
                                       if (now - shared->taken > std::chrono::milliseconds(100))
                                       {
                                           shared->sample = read_process_sample();
                                           shared->taken = now;
                                       }
                                       return (shared->sample.*member).value_or(std::nan(""));
                                   }));
    // The start time never changes, so it is read once rather than at every scrape.
    if (const auto start = read_process_sample().start_time_seconds)
        reg.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
            .set(*start);
    return out;
}

void register_build_info(registry& reg, std::string_view version, label_set extra)
{
    label_set labels{{"version", std::string(version)}};
    labels.insert(labels.end(), std::make_move_iterator(extra.begin()), std::make_move_iterator(extra.end()));
    reg.gauge("router_build_info", "Build information of the router; the value is always 1.",
              std::move(labels))
        .set(1);
}

} // namespace beamline::metrics
