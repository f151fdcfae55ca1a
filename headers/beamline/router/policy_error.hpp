#pragma once
// The error value of everything that reads or stores policies: one human-readable message that
// names the file or field at fault ("providers[1].weight must be a non-negative number").

#include <boost/system/result.hpp>
#include <stdexcept>
#include <string>

namespace beamline::router
{

struct policy_error
{
    std::string message;
};

/// Lets `result<T, policy_error>::value()` throw on misuse instead of failing to compile; expected
/// failures are checked with `has_error()` and never reach this.
[[noreturn]] inline void throw_exception_from_error(policy_error const& e, boost::source_location const&)
{
    throw std::runtime_error(e.message);
}

template <class T>
using policy_result = boost::system::result<T, policy_error>;

} // namespace beamline::router
