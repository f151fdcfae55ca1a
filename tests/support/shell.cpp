#include "shell.hpp"

#include <array>
#include <cstdio>
#include <sys/wait.h>

namespace beamline::test
{

command_result run_shell(const std::string& command)
{
    command_result result;
    std::string wrapped = "cd '" BEAMLINE_SOURCE_DIR "' && { " + command + "\n} 2>&1";
    FILE* pipe = ::popen(wrapped.c_str(), "r");
    if (pipe == nullptr)
    {
        result.output = "popen failed for: " + command;
        return result;
    }
    std::array<char, 4096> buffer{};
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
        result.output.append(buffer.data(), n);
    int status = ::pclose(pipe);
    if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    return result;
}

std::string source_path(const std::string& relative)
{
    return std::string(BEAMLINE_SOURCE_DIR "/") + relative;
}

} // namespace beamline::test
