#pragma once
// The JSON text writer every layer appends with (decide replies, ExecAssignments, log lines), so
// strings and numbers come out the same everywhere. It writes straight into a caller's buffer: a
// reused buffer makes a reply without any allocation.
//
// Strings: `"`, `\` and control characters (below 0x20, and DEL) are escaped; bytes that are not
// valid UTF-8 become U+FFFD, one per byte, so the output is always valid JSON and valid UTF-8.
// Numbers: NaN and infinities have no JSON spelling and are written as `null`, which a JSON
// consumer reads as "no value" (a 0 would be a wrong value that looks right).

#include <cstdint>
#include <string>
#include <string_view>

namespace beamline::common
{

/// Appends `s` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view s);

/// Appends a number: integral values up to 2^53 without a fraction ("250", not "250.0"), others
/// in the shortest form that reads back to the same double; NaN and infinities as `null`.
void append_json_number(std::string& out, double v);

void append_json_integer(std::string& out, std::int64_t v);
void append_json_integer(std::string& out, std::uint64_t v);

} // namespace beamline::common
