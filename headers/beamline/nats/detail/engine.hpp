#pragma once
// The client's engine: the state of one client and the coroutines that perform what the sans-I/O
// machines decide (sansio/run_fsm: connect, re-subscribe, run, back off; sansio/reader_fsm: frames
// to deliveries; sansio/writer_fsm: who writes; sansio/request_mux: replies to requests). Private to
// the client: source/nats/client.cpp (the public API), engine.cpp (dispatch, requests, the direct
// write) and connection.cpp (the run loop and the reader, writer and pinger).
//
// Members marked (strand) are touched only on the strand; (out) only under out_mutex.

#include "beamline/nats/client.hpp"
#include "beamline/nats/connect_failure.hpp"
#include "beamline/nats/detail/direct_write.hpp"
#include "beamline/nats/protocol/encoder.hpp"
#include "beamline/nats/protocol/publish_check.hpp"
#include "beamline/nats/sansio/outbound_buffer.hpp"
#include "beamline/nats/sansio/read_buffer.hpp"
#include "beamline/nats/sansio/reader_fsm.hpp"
#include "beamline/nats/sansio/request_mux.hpp"
#include "beamline/nats/sansio/run_fsm.hpp"
#include "beamline/nats/sansio/writer_fsm.hpp"
#include "beamline/nats/tls_context.hpp"
#include "beamline/nats/transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <sys/uio.h>
#include <unordered_map>
#include <vector>

namespace beamline::nats
{

namespace detail
{
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Completes an operation's handler: first a hop through `via` (never inline, so a coroutine is never
/// resumed inside another one's frame), then on the handler's own executor.
template <class Handler, class... Args>
void complete(Handler handler, const asio::any_io_executor& via, Args&&... args)
{
    asio::post(via, [h = std::move(handler), ... a = std::forward<Args>(args)]() mutable {
        auto ex = asio::get_associated_executor(h, asio::system_executor());
        asio::dispatch(ex, [h = std::move(h), ... a = std::move(a)]() mutable { std::move(h)(std::move(a)...); });
    });
}
} // namespace detail

struct client::impl
{
    using steady_timer = asio::steady_timer;
    using reply_handler = asio::any_completion_handler<reply_signature>;
    struct pong_waiter
    {
        asio::any_completion_handler<void(std::error_code)> handler;
        steady_timer timer;
        bool done = false;
    };

    impl(client& owner, asio::any_io_executor ex, const client_options& o, client_events ev, sansio::run_fsm run,
         std::string inbox_prefix);

    client& self;
    asio::strand<asio::any_io_executor> strand;
    client_events events;
    tls_context tls;
    std::error_code config_error; ///< a bad URL or unreadable TLS file, reported by connect()
    bool tls_wanted = false;

    // (strand)
    sansio::run_fsm runner;
    sansio::keepalive keep;
    sansio::reader_fsm reading;
    sansio::request_mux<reply_handler> requests;
    std::unique_ptr<transport> tr;
    sansio::read_buffer rbuf;
    steady_timer wake_timer, ping_timer, sleep_timer, deadline, request_timer;
    std::optional<steady_timer::time_point> request_timer_at; ///< what request_timer waits for
    asio::ip::tcp::resolver resolver;
    std::string control_out; ///< PING/PONG, written after the publishes taken with them; dropped on disconnect
    std::vector<std::string> writing;          ///< blocks of publishes being written, taken from pending_out
    std::string control_writing;               ///< control frames being written, after `writing`
    std::vector<asio::const_buffer> write_iov; ///< the gathered write of `writing` + `control_writing`
    std::unordered_map<std::uint64_t, subscription_ptr> subs;
    std::deque<std::shared_ptr<pong_waiter>> pong_waiters; ///< one per PING sent; null for keepalive
    subscription_ptr inbox_sub;
    bool closing = false;
    bool run_started = false;
    bool first_outcome = false;
    std::error_code first_error;
    std::vector<asio::any_completion_handler<void(std::error_code)>> connect_waiters;
    std::uint64_t generation = 0; ///< bumped when a connection ends; stale loops notice and exit
    int loops_running = 0;
    std::error_code loop_error;
    steady_timer loops_done;

    // (out)
    detail::spin_then_sleep_mutex out_mutex;
    std::condition_variable_any backlog_taken; ///< publishers over the high-water mark wait on it
    int publish_waiters = 0;
    std::optional<asio::io_context::executor_type> io_executor; ///< to tell our own threads apart
    sansio::outbound_buffer pending_out;
    sansio::writer_fsm writer_state;
    // Counted under the lock publish takes anyway: two atomic increments per message cost more.
    std::uint64_t out_msgs = 0;
    std::uint64_t out_bytes = 0;
    int direct_fd = -1; ///< the plain socket publishes may write to directly; -1: none (TLS, down)
    /// How long a direct write on a thread of its own waits for room in a full socket, holding the
    /// lock (the I/O thread may wait as long for it), before it leaves the rest to the writer.
    static constexpr std::chrono::milliseconds direct_write_block{10};
    std::atomic<std::uint64_t> direct_writes{0}; ///< changed under the lock
    std::vector<std::string> direct_blocks;
    std::vector<iovec> direct_iov;
    std::vector<subscription_ptr> new_subs; ///< registered by subscribe(), absorbed by the strand

    // any thread
    std::atomic<std::uint64_t> next_sid{1};
    std::atomic<std::int64_t> max_payload{1024 * 1024};
    std::atomic<bool> headers_ok{true};
    std::atomic<std::uint64_t> in_msgs{0}, in_bytes{0}, reconnects{0}, dropped{0};
    /// Failed connection attempts and stale connections, by connect_failure_reason.
    std::array<std::atomic<std::uint64_t>, connect_failure_reason_count> connect_failures{};
    std::atomic<std::size_t> writing_size{0};
    mutable std::mutex info_mutex;
    protocol::server_info info;
    std::string current_server;
    std::string last_error_text;
    std::error_code last_error;

    // --- engine.cpp: state shared by the public API and the loops ---------------------------
    void set_error(std::error_code ec, std::string text);
    protocol::server_limits limits() const noexcept
    {
        return {max_payload.load(std::memory_order_relaxed), headers_ok.load(std::memory_order_relaxed)};
    }
    bool on_own_thread() const;
    bool direct_write_locked(bool may_block);
    void close_transport();
    void wait_for_backlog_taken(std::size_t high_water);
    void send_unsub(const subscription& sub, const std::shared_ptr<client>& keep_alive);
    void forget(std::uint64_t sid, const std::shared_ptr<client>& keep_alive);
    void wake_writer(const std::shared_ptr<client>& keep_alive);
    void send_control(std::string_view frame);
    void absorb_new_subs();
    void report_first_outcome(std::error_code ec);
    void fail_pending(std::error_code ec);
    void dispatch(const protocol::frame& f);
    void on_reply(const message_view& v);
    void on_pong();
    void on_async_info(const protocol::server_info& fresh);
    void add_request(std::uint64_t token, reply_handler h, std::chrono::milliseconds timeout,
                     const std::shared_ptr<client>& keep_alive);
    void arm_request_timer(const std::shared_ptr<client>& keep_alive);

    // --- connection.cpp: the run loop and what it performs -----------------------------------
    asio::awaitable<void> run(std::shared_ptr<client> keep_alive);
    asio::awaitable<std::error_code> attempt(const sansio::server_entry& entry);
    asio::awaitable<std::error_code> resubscribe();
    asio::awaitable<std::error_code> steady_state(const std::shared_ptr<client>& keep_alive);
    asio::awaitable<std::error_code> reader();
    asio::awaitable<std::error_code> writer(std::uint64_t gen);
    asio::awaitable<void> let_publisher_write();
    asio::awaitable<std::error_code> pinger(std::uint64_t gen);
    asio::awaitable<void> writer_loop(std::shared_ptr<client> keep_alive, std::uint64_t gen);
    asio::awaitable<void> pinger_loop(std::shared_ptr<client> keep_alive, std::uint64_t gen);
    void end_connection(std::error_code ec);
    void loop_exited();
    std::error_code attempt_failed(const connect_attempt_facts& facts);
    const std::string& tls_name_for(const sansio::server_entry& entry) const;
    protocol::connect_info make_connect_info(const sansio::server_entry& entry) const;
};

} // namespace beamline::nats
