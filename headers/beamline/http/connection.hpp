#pragma once
// One accepted HTTP connection: reads requests one after another (keep-alive), routes each, writes
// the reply. Everything here runs on the connection's strand; the server only reaches in through
// drain() and force_close(), dispatched onto that strand.

#include "beamline/http/route_table.hpp"
#include "beamline/http/server.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>

namespace beamline::http
{

/// What every connection of one server shares, immutable once the server has started.
struct connection_config
{
    route_table routes;
    server_options options;
    log_function log;
};

/// What a handler sees of a parsed request: views into `msg`, which must outlive the result.
request request_view(const boost::beast::http::request<boost::beast::http::string_body>& msg);

class connection : public std::enable_shared_from_this<connection>
{
public:
    /// `socket`'s executor must be a strand: run(), drain() and force_close() all use it.
    connection(boost::asio::ip::tcp::socket socket, std::shared_ptr<const connection_config> config);

    boost::asio::any_io_executor executor() { return stream_.get_executor(); }

    /// Serves requests until the peer closes, a deadline passes, an error, or a drain.
    boost::asio::awaitable<void> run();

    /// Finish the request in progress (answering it with `Connection: close`), then close; an idle
    /// connection closes at once.
    void drain();
    /// Close now, whatever is in progress.
    void force_close();

    /// `waiting_since()` of a connection that is reading a request body or serving a request.
    static constexpr std::int64_t busy = std::numeric_limits<std::int64_t>::max();
    /// Since when (steady_clock ticks) the connection has been waiting for a request: idle, or
    /// still reading request headers. `busy` once a request's headers are in. Safe from any thread:
    /// the server reads it to choose whom to evict when the connection limit is reached.
    std::int64_t waiting_since() const noexcept { return waiting_since_.load(std::memory_order_relaxed); }
    /// Closes the connection if it is still waiting for a request; one being served is left alone.
    void evict();

private:
    using beast_request = boost::beast::http::request<boost::beast::http::string_body>;

    boost::asio::awaitable<bool> serve(beast_request& msg);
    boost::asio::awaitable<response> invoke(const http::handler& h, const request& req);
    boost::asio::awaitable<bool> write_response(response res, unsigned version, bool keep_alive,
                                                bool head_only);
    /// Sends an error the connection cannot recover from, then closes without resetting the peer.
    boost::asio::awaitable<void> send_final(response res);
    std::optional<response> reply_to_read_error(const boost::system::error_code& ec) const;

    void arm_deadline(std::chrono::milliseconds after);
    void disarm_deadline();
    void cancel_io();
    void close();

    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    boost::asio::steady_timer deadline_;
    std::shared_ptr<const connection_config> config_;
    std::atomic<std::int64_t> waiting_since_; // from the accept on: a new connection owes a request
    std::uint64_t deadline_generation_ = 0;
    bool deadline_hit_ = false;
    bool idle_ = false;
    bool draining_ = false;
    bool closed_ = false;
};

} // namespace beamline::http
