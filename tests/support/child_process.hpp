// What the test fixtures that run programs (nats-server, the router daemon) share: temporary
// directories, a child process with its output in a log file, and the state of the running test.
#pragma once

#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

namespace beamline::test
{

// A fresh directory under the system's temporary directory; throws when it cannot be made.
std::filesystem::path make_temp_dir(const std::string& prefix);

// BEAMLINE_TEST_KEEP_DIRS=1: leave temporary directories behind for inspection.
bool keep_test_dirs();

// Whether the running Boost.Test case has failed so far (false outside a test case).
bool current_test_failed();

// Starts `argv` with stdin from /dev/null and stdout and stderr appended to `log_file`, killed when
// the test process dies. `environment` (NAME=value entries) replaces the inherited one unless
// empty. Throws when the log cannot be opened or fork() fails.
pid_t spawn_logged(const std::vector<std::string>& argv, const std::filesystem::path& log_file,
                   const std::vector<std::string>& environment = {});

} // namespace beamline::test
