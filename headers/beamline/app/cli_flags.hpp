#pragma once
// What the client verbs (`nats`, `js`) share on their command lines: the connection flags and the
// parsing of flags and positional words.

#include "beamline/nats/options.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace beamline::app
{

/// --server/-s URL (repeatable, into `servers`), --tls-ca, --tls-cert, --tls-key, --user,
/// --password, --token (into `client`).
void add_connection_flags(boost::program_options::options_description& desc, nats::client_options& client,
                          std::vector<std::string>& servers);

/// Parses `args` against `desc`, every word that is not a flag going to `words`. On a bad flag
/// prints `<prefix>: <why>` and `usage` on stderr and returns false.
bool parse_flags(const std::vector<std::string>& args, boost::program_options::options_description& desc,
                 boost::program_options::variables_map& vm, std::vector<std::string>& words, std::string_view prefix,
                 std::string_view usage);

/// Runs a verb's coroutine on `io` to its end: its exit code, or 1 with `<prefix>: <what>` on
/// stderr when it threw.
int run_to_exit_code(boost::asio::io_context& io, boost::asio::awaitable<int> verb, std::string_view prefix);

} // namespace beamline::app
