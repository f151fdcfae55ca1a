#pragma once
// The HTTP/1.1 server: an accept loop on its own strand, one coroutine per connection on the
// connection's own strand, keep-alive, deadlines, size limits, a connection cap that evicts the
// longest-waiting connection before refusing a new one, and a graceful stop.

#include "beamline/http/route_table.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace beamline::http
{

/// Receives the server's own log lines ("warn", "error"): failed accepts, handler exceptions.
using log_function = std::function<void(std::string_view level, std::string_view message)>;

struct server_options
{
    std::string listen = "0.0.0.0:8080"; ///< "host:port", "[v6]:port"; port 0 picks a free port
    /// From the first byte of a request until it is fully read; past it the client gets 408.
    std::chrono::milliseconds request_timeout{10000};
    /// How long a connection may wait for the first byte of a request, when it is new or between
    /// keep-alive requests, before it is closed.
    std::chrono::milliseconds idle_timeout{5000};
    std::chrono::milliseconds write_timeout{10000};
    std::size_t body_limit = 1024 * 1024; ///< larger bodies get 413
    std::size_t header_limit = 16 * 1024; ///< larger headers get 431
    /// At the limit, a new connection replaces the one that has waited longest for a request (so
    /// probes still get through a flood of idle connections); it is refused only when every
    /// connection is serving a request.
    std::size_t max_connections = 1024;
};

/// Parses "host:port" with common::parse_listen_address (an IPv4 address, a bracketed IPv6 address,
/// `localhost`, or empty / `*` for every IPv4 interface). nullopt with `error` set to the cause.
std::optional<boost::asio::ip::tcp::endpoint> parse_listen_address(std::string_view text, std::string& error);

class server
{
public:
    server(boost::asio::any_io_executor executor, route_table routes, server_options options,
           log_function log = {});
    /// Closes the listener and every connection without waiting.
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds, listens and starts accepting. Returns an empty string on success, otherwise why the
    /// address could not be used (naming it).
    [[nodiscard]] std::string start();

    /// The bound address (with the real port when the configured one was 0).
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    /// Stops accepting, lets requests already being read or handled finish and answers them with
    /// `Connection: close`, closes idle keep-alive connections at once, and after `grace` closes
    /// whatever is left. Completes when no connection remains (or a short bound after the forced
    /// close, if a handler never returns).
    boost::asio::awaitable<void> stop(std::chrono::milliseconds grace);

    /// Open connections, as last counted by the accept strand.
    std::size_t connection_count() const noexcept;

    struct state;

private:
    std::shared_ptr<state> state_;
};

} // namespace beamline::http
