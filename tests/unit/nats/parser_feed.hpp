#pragma once
// Drives parse_frame the way the client's reader does: keep the unread bytes, append the next chunk,
// parse until the parser needs more. Frames are copied out so they can be compared after their
// buffer has moved on.

#include <beamline/nats/protocol/parser.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace beamline::nats::test
{

struct feed_result
{
    std::vector<std::string> frames; ///< each frame described by describe()
    std::error_code ec;              ///< the parse error, if any
    std::size_t error_after = 0;     ///< bytes fed when the error was reported
    std::size_t unread = 0;          ///< bytes left unparsed at the end
    std::string contract_violation;  ///< a broken promise of parse_frame, empty if none
};

/// One line naming every field of `f`, so a mismatch shows which field differs.
std::string describe(const protocol::frame& f);

/// Feeds `input` cut at `cuts` (ascending offsets inside the input).
feed_result feed(std::string_view input, const std::vector<std::size_t>& cuts);

/// Feeds `input` one byte at a time.
feed_result feed_bytewise(std::string_view input);

} // namespace beamline::nats::test
