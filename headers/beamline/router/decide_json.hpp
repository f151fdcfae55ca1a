#pragma once
// Appending JSON writers used by the decide replies and the ExecAssignment: they write straight
// into a caller's buffer, so a reused buffer makes a reply without any allocation. Strings and
// numbers are common/json_writer's, the writer every layer uses.

#include "beamline/common/json_writer.hpp"

#include <boost/json/value.hpp>
#include <string>

namespace beamline::router
{

using common::append_json_number;
using common::append_json_string;

/// Appends any JSON value (a request's `task`, `options`, `metadata` as given) with the common
/// string escaping and number rules.
void append_json_value(std::string& out, const boost::json::value& v);

} // namespace beamline::router
