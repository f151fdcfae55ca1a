#pragma once
// Appending JSON writers used by the decide replies and the ExecAssignment: they write straight
// into a caller's buffer, so a reused buffer makes a reply without any allocation.

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace beamline::router
{

/// Appends `s` as a quoted JSON string. Quotes, backslashes and control characters are escaped;
/// bytes that are not valid UTF-8 become U+FFFD, so the output is always valid JSON and UTF-8.
void append_json_string(std::string& out, std::string_view s);

/// Appends a number: integral values up to 2^53 without a fraction ("250", not "250.0"), others
/// in the shortest form that reads back to the same double. NaN and infinities have no JSON
/// spelling and are written as 0.
void append_json_number(std::string& out, double v);

/// Appends any JSON value (a request's `task`, `options`, `metadata` as given) with the same
/// string escaping and number rules.
void append_json_value(std::string& out, const boost::json::value& v);

} // namespace beamline::router
