#pragma once
// Runs `promtool check metrics` (Debian package prometheus) on an exposition, for tests that must
// prove /metrics output is accepted by Prometheus' own linter.

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace beamline::test
{

inline bool promtool_present()
{
    return std::system("command -v promtool >/dev/null 2>&1") == 0;
}

struct promtool_result
{
    int status = -1;    ///< the shell's wait status; 0 when promtool accepted the text
    std::string output; ///< everything promtool printed; empty when it had no complaint
};

inline promtool_result promtool_check_metrics(const std::string& exposition)
{
    static int sequence = 0;
    const auto path =
        std::filesystem::temp_directory_path() /
        ("beamline_metrics_" + std::to_string(::getpid()) + "_" + std::to_string(++sequence) + ".prom");
    {
        std::ofstream out(path);
        out << exposition;
    }
    promtool_result r;
    FILE* pipe = ::popen(("promtool check metrics < " + path.string() + " 2>&1").c_str(), "r");
    if (pipe)
    {
        std::array<char, 4096> buf{};
        std::size_t n = 0;
        while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0)
            r.output.append(buf.data(), n);
        r.status = ::pclose(pipe);
    }
    std::filesystem::remove(path);
    return r;
}

} // namespace beamline::test
