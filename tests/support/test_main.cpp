// Provides main() for every Boost.Test executable of the project, and the source tree's location.
#define BOOST_TEST_MODULE beamline
#include <boost/test/unit_test.hpp>

#include "source_tree.hpp"

std::filesystem::path beamline::test::source_tree()
{
    return BEAMLINE_TEST_SOURCE_TREE;
}
