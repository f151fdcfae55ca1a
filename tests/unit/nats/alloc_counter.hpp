#pragma once
// Counts heap allocations made by this test executable, so tests can show that a hot-path function
// allocates nothing.

#include <cstddef>

namespace beamline::nats::test
{

/// Allocations through the global operator new since the program started.
std::size_t allocation_count() noexcept;

/// The number of allocations made while `f` runs.
template <class F>
std::size_t allocations_during(F&& f)
{
    std::size_t before = allocation_count();
    f();
    return allocation_count() - before;
}

} // namespace beamline::nats::test
