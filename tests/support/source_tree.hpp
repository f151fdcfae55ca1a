#pragma once
// Where the repository's own files (config/, docs/, fixtures) are, for tests that read them.
// Taken from the build, not from __FILE__: a compiler launcher may rewrite source paths to relative
// ones, which would make __FILE__ relative to a directory the test does not run in.

#include <filesystem>

namespace beamline::test
{

std::filesystem::path source_tree();

} // namespace beamline::test
