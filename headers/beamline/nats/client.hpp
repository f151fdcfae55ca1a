#pragma once
// A NATS client connection: one long-lived coroutine engine on its own strand that connects (TCP,
// INFO, optional TLS, CONNECT, PING/PONG), then runs reader ∥ writer ∥ pinger until the connection
// drops, then reconnects through the server pool, re-subscribes and flushes what was buffered.
//
// Thread safety: every public member may be called from any thread. Publishing appends a complete
// frame to one outbound buffer under a short lock (that is where writes coalesce); everything else
// (subscriptions, pending requests, the pool) is owned by the strand.

#include "beamline/nats/connect_failure.hpp"
#include "beamline/nats/error.hpp"
#include "beamline/nats/message.hpp"
#include "beamline/nats/options.hpp"
#include "beamline/nats/protocol/server_info.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>

namespace beamline::nats
{

namespace asio = boost::asio;

enum class connection_state
{
    disconnected, ///< never connected yet
    connecting,
    connected,
    reconnecting,
    draining,
    closed,
};
std::string_view to_string(connection_state s) noexcept;

struct statistics
{
    std::uint64_t in_msgs = 0;
    std::uint64_t in_bytes = 0;
    std::uint64_t out_msgs = 0;
    std::uint64_t out_bytes = 0;
    std::uint64_t reconnects = 0;
    std::uint64_t pending_bytes = 0; ///< outbound bytes not yet written to the socket
    std::uint64_t dropped_msgs = 0;  ///< dropped by slow subscriptions
    std::uint64_t direct_writes = 0; ///< writes a publishing thread made itself (client_options::direct_write_bytes)
    /// Failed connection attempts (first connect and reconnects) and stale connections, indexed
    /// by connect_failure_reason.
    std::array<std::uint64_t, connect_failure_reason_count> connect_failures{};
};

struct subscribe_options
{
    std::string queue;
    std::uint64_t max_msgs = 0;    ///< auto-unsubscribe after this many messages; 0 = never
    std::size_t pending_msgs = 0;  ///< 0: the client's default
    std::size_t pending_bytes = 0; ///< 0: the client's default
};

class client;

/// A live subscription. Counters may be read from any thread.
class subscription
{
public:
    std::uint64_t sid() const noexcept { return sid_; }
    const std::string& subject() const noexcept { return subject_; }
    const std::string& queue() const noexcept { return queue_; }
    std::uint64_t delivered() const noexcept { return delivered_.load(std::memory_order_relaxed); }
    std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
    std::size_t pending_msgs() const noexcept { return pending_msgs_.load(std::memory_order_relaxed); }

private:
    friend class client;
    using handler_type = std::function<void(message)>;
    using inline_handler_type = std::function<void(const message_view&)>;

    std::uint64_t sid_ = 0;
    std::string subject_;
    std::string queue_;
    std::uint64_t max_msgs_ = 0;
    std::size_t pending_msgs_limit_ = 0;
    std::size_t pending_bytes_limit_ = 0;
    handler_type handler_;               ///< asynchronous delivery on `strand_`
    inline_handler_type inline_handler_; ///< delivery on the connection's strand
    std::unique_ptr<asio::strand<asio::any_io_executor>> strand_;
    std::atomic<std::uint64_t> delivered_{0};
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::size_t> pending_msgs_{0};
    std::atomic<std::size_t> pending_bytes_{0};
    std::atomic<bool> active_{true};
    bool slow_reported_ = false; ///< strand-owned: report slow consumer once per episode
};
using subscription_ptr = std::shared_ptr<subscription>;

/// Callbacks, all invoked on the client's strand; keep them short.
struct client_events
{
    std::function<void()> connected;
    std::function<void(std::error_code)> disconnected;
    std::function<void()> reconnected;
    std::function<void(std::error_code)> closed;
    /// Asynchronous errors that do not end the connection: permissions violations, slow consumers.
    std::function<void(std::error_code, std::string_view text)> error;
    std::function<void()> lame_duck;
};

class client : public std::enable_shared_from_this<client>
{
    struct private_tag
    {
    };

public:
    using executor_type = asio::any_io_executor;
    using reply_signature = void(std::error_code, message);

    static std::shared_ptr<client> create(executor_type ex, client_options opts, client_events events = {});
    client(private_tag, executor_type ex, client_options opts, client_events events);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Connects (first pass through the pool) and keeps the connection up in the background.
    /// Completes with the first success or, unless retry_on_failed_connect, the first pass's error.
    asio::awaitable<std::error_code> connect();

    /// Publishes a message; fails at once on an invalid subject, a message over max_payload, headers
    /// the server cannot take, a closed connection or a full buffer.
    std::error_code publish(std::string_view subject, std::string_view payload, std::string_view reply = {},
                            const headers* hdrs = nullptr);

    /// Subscribes; `handler` runs on a strand of the subscription (messages in order), with at most
    /// the pending limits queued: beyond them messages are dropped and counted (slow consumer).
    std::error_code subscribe(std::string_view subject, subscribe_options opts,
                              std::function<void(message)> handler, subscription_ptr& out);
    /// Subscribes with the handler run on the connection's strand, with a view into the read buffer:
    /// no copy, no queue. The handler must not block; it is for hot paths that hand work off.
    std::error_code subscribe_inline(std::string_view subject, subscribe_options opts,
                                     std::function<void(const message_view&)> handler, subscription_ptr& out);
    void unsubscribe(const subscription_ptr& sub);
    /// Unsubscribes without losing what is already on its way: messages the server sent before it
    /// read the UNSUB are still delivered, up to the PONG of a flush. For graceful shutdown.
    asio::awaitable<std::error_code> drain_subscription(subscription_ptr sub, std::chrono::milliseconds timeout);

    /// Request/reply through one wildcard inbox subscription. Fails with `no_responders` at once
    /// when nobody listens, `timeout`, or `disconnected` if the connection drops meanwhile.
    template <class Token>
    auto async_request(std::string subject, std::string payload, std::chrono::milliseconds timeout, Token&& token,
                       const headers* hdrs = nullptr)
    {
        // The initiation holds only raw pointers and trivial values: with use_awaitable, GCC 12
        // destroys one copy too many of an initiation's captures and arguments.
        auto* args = new request_args{std::move(subject), std::move(payload), hdrs, timeout};
        return asio::async_initiate<Token, reply_signature>(
            [this, args](auto handler) {
                std::unique_ptr<request_args> owned(args);
                start_request(std::move(owned->subject), std::move(owned->payload), owned->hdrs, owned->timeout,
                              asio::any_completion_handler<reply_signature>(std::move(handler)));
            },
            token);
    }
    asio::awaitable<std::pair<std::error_code, message>> request(std::string subject, std::string payload,
                                                                 std::chrono::milliseconds timeout,
                                                                 const headers* hdrs = nullptr);

    /// A PING/PONG round trip: everything published before it has been processed by the server.
    asio::awaitable<std::error_code> flush(std::chrono::milliseconds timeout);

    /// Unsubscribes everything, waits (up to `timeout`) for queued messages to be handled, flushes,
    /// then closes.
    asio::awaitable<std::error_code> drain(std::chrono::milliseconds timeout);

    /// Closes now: pending requests fail, nothing more is sent, no reconnect.
    void close();

    connection_state state() const noexcept { return state_.load(std::memory_order_acquire); }
    bool connected() const noexcept { return state() == connection_state::connected; }
    statistics stats() const;
    /// The server we are connected to (or last were), e.g. "tls://127.0.0.1:4222".
    std::string current_server() const;
    protocol::server_info server_info() const;
    /// The last connection error in words, including the server's -ERR text or OpenSSL's reason.
    std::string last_error_text() const;
    std::error_code last_error() const;
    const client_options& options() const noexcept { return opts_; }

private:
    struct impl;
    struct request_args
    {
        std::string subject;
        std::string payload;
        const headers* hdrs;
        std::chrono::milliseconds timeout;
    };
    static asio::awaitable<std::error_code> connect_impl(std::shared_ptr<client> self);
    void start_request(std::string subject, std::string payload, const headers* hdrs,
                       std::chrono::milliseconds timeout, asio::any_completion_handler<reply_signature> handler);
    std::error_code do_subscribe(std::string_view subject, subscribe_options opts, subscription_ptr sub);

    client_options opts_;
    std::unique_ptr<impl> impl_;
    std::atomic<connection_state> state_{connection_state::disconnected};
};

} // namespace beamline::nats
