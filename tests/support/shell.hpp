// Runs shell commands from tests: the project's scripts and the commands its documents show.
#pragma once

#include <string>

namespace beamline::test
{

struct command_result
{
    int exit_code = -1; // the command's exit status; -1 when it did not exit normally
    std::string output; // stdout and stderr together
};

// Runs `command` with /bin/sh (stderr merged into stdout) from the source directory.
command_result run_shell(const std::string& command);

// The path of a file in the source tree, for commands: BEAMLINE_SOURCE_DIR/relative.
std::string source_path(const std::string& relative);

} // namespace beamline::test
