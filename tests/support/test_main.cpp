// Provides main() for every Boost.Test executable of the project.
#define BOOST_TEST_MODULE beamline
#include <boost/test/unit_test.hpp>
