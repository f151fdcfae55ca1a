#include "beamline/http/server.hpp"

#include "beamline/common/address.hpp"
#include "beamline/http/connection.hpp"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <iostream>
#include <unordered_map>

namespace beamline::http
{
namespace
{

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
/// After a forced close, how long stop() still waits for handlers that have not returned.
constexpr std::chrono::seconds forced_close_wait{1};
/// Pause after a failed accept (out of descriptors, typically) so the loop does not spin.
constexpr std::chrono::milliseconds accept_retry_delay{50};

void log_to_stderr(std::string_view level, std::string_view message)
{
    std::cerr << "http " << level << ": " << message << '\n';
}

std::string describe(const tcp::endpoint& ep)
{
    return common::to_string(common::host_port{ep.address().to_string(), ep.port()});
}

} // namespace

std::optional<tcp::endpoint> parse_listen_address(std::string_view text, std::string& error)
{
    auto parsed = common::parse_listen_address(text);
    if (!parsed)
    {
        error = parsed.error();
        return std::nullopt;
    }
    const auto& [host, port] = parsed.value();
    if (host == "localhost") return tcp::endpoint(asio::ip::address_v4::loopback(), port);
    boost::system::error_code bad; // the common parser admits only IP addresses: never set
    const auto address = asio::ip::make_address(host, bad);
    if (bad)
    {
        error = "listen address '" + std::string(text) + "': " + bad.message();
        return std::nullopt;
    }
    return tcp::endpoint(address, port);
}

struct server::state : std::enable_shared_from_this<server::state>
{
    state(asio::any_io_executor ex, std::shared_ptr<const connection_config> cfg)
        : executor(ex), strand(asio::make_strand(ex)), acceptor(strand), drained(strand),
          config(std::move(cfg))
    {
    }

    asio::awaitable<void> accept_loop();
    static asio::awaitable<void> stop_on_strand(std::shared_ptr<state> self, std::chrono::milliseconds grace);
    asio::awaitable<void> wait_drained(std::chrono::steady_clock::time_point deadline);
    void on_closed(std::uint64_t id);
    /// At the connection limit: closes the connection that has waited longest for a request (idle
    /// or still sending headers) to make room. False when every connection is serving a request.
    bool evict_longest_waiting();
    void close_all(bool force);

    asio::any_io_executor executor;
    asio::strand<asio::any_io_executor> strand; // owns everything below
    tcp::acceptor acceptor;
    asio::steady_timer drained; // cancelled when the last connection goes, while stopping
    std::shared_ptr<const connection_config> config;
    struct slot
    {
        std::shared_ptr<connection> conn;
        bool evicted = false; ///< asked to close to make room; no longer counted against the limit
    };
    std::unordered_map<std::uint64_t, slot> connections;
    std::size_t evicted = 0; ///< slots with `evicted` set
    std::uint64_t next_id = 0;
    bool stopping = false;
    tcp::endpoint bound;
    std::atomic<std::size_t> count{0};
};

asio::awaitable<void> server::state::accept_loop()
{
    auto self = shared_from_this();
    while (!stopping)
    {
        auto [ec, socket] =
            co_await acceptor.async_accept(asio::any_io_executor(asio::make_strand(executor)), use_tuple);
        if (stopping) break;
        if (ec)
        {
            config->log("warn", "accept on " + describe(bound) + " failed: " + ec.message());
            asio::steady_timer pause(strand, accept_retry_delay);
            co_await pause.async_wait(use_tuple);
            continue;
        }
        if (connections.size() - evicted >= config->options.max_connections && !evict_longest_waiting())
        {
            // Every slot serves a request: closing at once costs the least under a flood; the client
            // sees a closed connection.
            config->log("warn", "connection refused: " + std::to_string(connections.size()) +
                                    " open and all busy, the limit (http max_connections)");
            boost::system::error_code ignored;
            socket.close(ignored);
            continue;
        }
        auto conn = std::make_shared<connection>(std::move(socket), config);
        const auto id = next_id++;
        connections.emplace(id, slot{conn});
        count.store(connections.size(), std::memory_order_relaxed);
        asio::co_spawn(conn->executor(), conn->run(),
                       [self, id](std::exception_ptr failure)
                       {
                           if (failure)
                           {
                               try
                               {
                                   std::rethrow_exception(failure);
                               }
                               catch (const std::exception& e)
                               {
                                   self->config->log(
                                       "error", std::string("connection ended by an exception: ") + e.what());
                               }
                               catch (...)
                               {
                                   self->config->log("error", "connection ended by an unknown exception");
                               }
                           }
                           asio::post(self->strand, [self, id] { self->on_closed(id); });
                       });
    }
}

bool server::state::evict_longest_waiting()
{
    // A linear scan, only when the limit is reached: cheaper than keeping an order on every request.
    slot* victim = nullptr;
    auto oldest = connection::busy;
    for (auto& [id, s] : connections)
    {
        if (s.evicted) continue;
        if (const auto since = s.conn->waiting_since(); since < oldest)
        {
            oldest = since;
            victim = &s;
        }
    }
    if (!victim) return false;
    // Counted as gone from now on, so the next accept does not pick it again. Should a request
    // start on it before the eviction runs, it is served and the server is one over its limit
    // until that connection ends.
    victim->evicted = true;
    ++evicted;
    asio::dispatch(victim->conn->executor(), [conn = victim->conn] { conn->evict(); });
    config->log("debug", "connection limit (http max_connections) reached: closed the connection that "
                         "waited longest for a request, to admit a new one");
    return true;
}

void server::state::on_closed(std::uint64_t id)
{
    if (auto it = connections.find(id); it != connections.end() && it->second.evicted) --evicted;
    connections.erase(id);
    count.store(connections.size(), std::memory_order_relaxed);
    if (stopping && connections.empty()) drained.cancel();
}

void server::state::close_all(bool force)
{
    for (auto& [id, s] : connections)
        asio::dispatch(s.conn->executor(), [conn = s.conn, force] { force ? conn->force_close() : conn->drain(); });
}

asio::awaitable<void> server::state::wait_drained(std::chrono::steady_clock::time_point deadline)
{
    while (!connections.empty() && std::chrono::steady_clock::now() < deadline)
    {
        drained.expires_at(deadline);
        co_await drained.async_wait(use_tuple);
    }
}

asio::awaitable<void> server::state::stop_on_strand(std::shared_ptr<state> self,
                                                    std::chrono::milliseconds grace)
{
    if (!self->stopping)
    {
        self->stopping = true;
        boost::system::error_code ignored;
        self->acceptor.close(ignored);
        self->close_all(false);
    }
    co_await self->wait_drained(std::chrono::steady_clock::now() + grace);
    if (self->connections.empty()) co_return;
    self->config->log("warn", std::to_string(self->connections.size()) +
                                  " connection(s) still busy after the " + std::to_string(grace.count()) +
                                  " ms grace period; closing them");
    self->close_all(true);
    co_await self->wait_drained(std::chrono::steady_clock::now() + forced_close_wait);
}

server::server(asio::any_io_executor executor, route_table routes, server_options options, log_function log)
{
    if (!log) log = log_to_stderr;
    auto config = std::make_shared<const connection_config>(
        connection_config{std::move(routes), std::move(options), std::move(log)});
    state_ = std::make_shared<state>(std::move(executor), std::move(config));
}

server::~server()
{
    auto st = state_;
    asio::dispatch(st->strand,
                   [st]
                   {
                       st->stopping = true;
                       boost::system::error_code ignored;
                       st->acceptor.close(ignored);
                       st->close_all(true);
                   });
}

std::string server::start()
{
    std::string error;
    const auto endpoint = parse_listen_address(state_->config->options.listen, error);
    if (!endpoint) return error;
    auto& acceptor = state_->acceptor;
    boost::system::error_code ec;
    const auto failed = [&](std::string_view step)
    {
        boost::system::error_code ignored;
        acceptor.close(ignored);
        return "cannot " + std::string(step) + " " + describe(*endpoint) + ": " + ec.message();
    };
    acceptor.open(endpoint->protocol(), ec);
    if (ec) return failed("open a socket for");
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) return failed("set SO_REUSEADDR on");
    acceptor.bind(*endpoint, ec);
    if (ec) return failed("bind");
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return failed("listen on");
    state_->bound = acceptor.local_endpoint(ec);
    auto st = state_;
    asio::co_spawn(st->strand, st->accept_loop(),
                   [st](std::exception_ptr failure)
                   {
                       if (failure) st->config->log("error", "the HTTP accept loop ended by an exception");
                   });
    return {};
}

tcp::endpoint server::local_endpoint() const
{
    return state_->bound;
}

std::size_t server::connection_count() const noexcept
{
    return state_->count.load(std::memory_order_relaxed);
}

asio::awaitable<void> server::stop(std::chrono::milliseconds grace)
{
    // Not a coroutine itself: the state is captured now, so the server object may be gone by the
    // time the returned awaitable runs.
    return asio::co_spawn(state_->strand, state::stop_on_strand(state_, grace), asio::use_awaitable);
}

} // namespace beamline::http
