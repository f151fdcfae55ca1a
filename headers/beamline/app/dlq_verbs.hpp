#pragma once
// `js dlq ls [--last N]` and `js dlq replay SEQ`: the operator's view of the dead-letter stream
// (SPEC §10). A dead letter carries the original body unchanged and says why in its headers, so
// replaying it republishes that body to the subject it came from.

#include "beamline/nats/jetstream/context.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>

namespace beamline::app
{

/// Lists the newest `last` dead letters of `stream`: sequence, reason, original subject and
/// sequence, the error sentence. Exit code as the js verbs.
boost::asio::awaitable<int> dlq_list(nats::jetstream::context& js, std::string stream, std::size_t last);

/// Republishes dead letter `seq` of `stream` to its original subject, as a JetStream publish (the
/// PubAck is printed). The replayed message carries `Beamline-Replay-Of: <stream>:<seq>`.
boost::asio::awaitable<int> dlq_replay(nats::jetstream::context& js, std::string stream, std::uint64_t seq);

} // namespace beamline::app
