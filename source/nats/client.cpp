#include "beamline/nats/client.hpp"

#include "beamline/nats/protocol/encoder.hpp"
#include "beamline/nats/protocol/parser.hpp"
#include "beamline/nats/protocol/subject.hpp"
#include "beamline/nats/sansio/handshake.hpp"
#include "beamline/nats/sansio/outbound_buffer.hpp"
#include "beamline/nats/sansio/read_buffer.hpp"
#include "beamline/nats/sansio/server_pool.hpp"
#include "beamline/nats/transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cerrno>
#include <charconv>
#include <climits>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <tuple>
#include <condition_variable>
#include <deque>
#include <optional>
#include <random>
#include <unordered_map>

namespace beamline::nats
{

using namespace std::chrono_literals;
using asio::awaitable;
using steady_timer = asio::steady_timer;
namespace
{
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view client_version = "0.1.0";

std::uint64_t make_seed(std::uint64_t configured)
{
    if (configured != 0) return configured;
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

/// A random 22-character base62 identifier (as NUID) for the request inbox.
std::string make_nuid(std::mt19937_64& rng)
{
    static constexpr char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    std::string out(22, '0');
    for (auto& c : out)
        c = alphabet[rng() % 62];
    return out;
}

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

/// A key with ':', a space or CR/LF would corrupt the header block (and could inject headers).
bool valid_header_keys(const headers& h) noexcept
{
    for (const auto& f : h.fields())
        if (!valid_header_key(f.first)) return false;
    return true;
}

} // namespace

std::string_view to_string(connection_state s) noexcept
{
    switch (s)
    {
    case connection_state::disconnected: return "disconnected";
    case connection_state::connecting: return "connecting";
    case connection_state::connected: return "connected";
    case connection_state::reconnecting: return "reconnecting";
    case connection_state::draining: return "draining";
    case connection_state::closed: return "closed";
    }
    return "unknown";
}

// ---------------------------------------------------------------------------------------------
// State. Members marked (strand) are touched only on the strand; (out) only under out_mutex.

/// A mutex whose waiter spins a little before sleeping: the outbound lock is held for a memcpy at a
/// time, and a futex sleep and wake-up per collision cost more than the whole critical section.
class spin_then_sleep_mutex
{
public:
    spin_then_sleep_mutex()
    {
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
        pthread_mutex_init(&m_, &attr);
        pthread_mutexattr_destroy(&attr);
    }
    ~spin_then_sleep_mutex() { pthread_mutex_destroy(&m_); }
    spin_then_sleep_mutex(const spin_then_sleep_mutex&) = delete;
    spin_then_sleep_mutex& operator=(const spin_then_sleep_mutex&) = delete;
    void lock() { pthread_mutex_lock(&m_); }
    bool try_lock() { return pthread_mutex_trylock(&m_) == 0; }
    void unlock() { pthread_mutex_unlock(&m_); }

private:
    pthread_mutex_t m_;
};

struct client::impl
{
    struct pending_request
    {
        asio::any_completion_handler<reply_signature> handler;
        steady_timer timer;
    };
    struct pong_waiter
    {
        asio::any_completion_handler<void(std::error_code)> handler;
        steady_timer timer;
        bool done = false;
    };

    impl(client& owner, asio::any_io_executor ex, const client_options& o, client_events ev)
        : self(owner), strand(asio::make_strand(ex)), events(std::move(ev)), ssl_ctx(asio::ssl::context::tls_client),
          pool({}, false, 0, 0), backoff(o.reconnect_wait, o.reconnect_jitter, 1), keep(o.max_pings_out),
          wake_timer(strand), ping_timer(strand), sleep_timer(strand), deadline(strand), resolver(strand),
          rng(make_seed(o.random_seed)), loops_done(strand)
    {
    }

    client& self;
    asio::strand<asio::any_io_executor> strand;
    client_events events;
    asio::ssl::context ssl_ctx;
    std::error_code config_error; ///< a bad URL or unreadable TLS file, reported by connect()
    bool tls_wanted = false;
    bool system_cas_loaded = false; ///< (strand)

    // (strand)
    sansio::server_pool pool;
    sansio::reconnect_backoff backoff;
    sansio::keepalive keep;
    std::unique_ptr<transport> tr;
    sansio::read_buffer rbuf;
    steady_timer wake_timer, ping_timer, sleep_timer, deadline;
    asio::ip::tcp::resolver resolver;
    std::mt19937_64 rng;
    std::string control_out; ///< PING/PONG, written after the publishes taken with them; dropped on disconnect
    std::vector<std::string> writing;          ///< blocks of publishes being written, taken from pending_out
    std::string control_writing;               ///< control frames being written, after `writing`
    std::vector<asio::const_buffer> write_iov; ///< the gathered write of `writing` + `control_writing`
    std::unordered_map<std::uint64_t, subscription_ptr> subs;
    std::deque<std::shared_ptr<pong_waiter>> pong_waiters; ///< one per PING sent; null for keepalive
    /// Keyed by the number that ends the reply subject: no string built or hashed per request.
    std::unordered_map<std::uint64_t, std::unique_ptr<pending_request>> requests;
    std::string reply_subject; ///< reused to build each request's reply subject
    std::string inbox_prefix;
    subscription_ptr inbox_sub;
    std::uint64_t next_token = 0;
    bool closing = false;
    bool run_started = false;
    bool first_outcome = false;
    std::error_code first_error;
    std::vector<asio::any_completion_handler<void(std::error_code)>> connect_waiters;
    std::string connected_tls_name;
    std::uint64_t generation = 0; ///< bumped when a connection ends; stale loops notice and exit
    int loops_running = 0;
    std::error_code loop_error;
    steady_timer loops_done;

    // (out)
    spin_then_sleep_mutex out_mutex;
    std::condition_variable_any backlog_taken; ///< publishers over the high-water mark wait on it
    int publish_waiters = 0;
    std::optional<asio::io_context::executor_type> io_executor; ///< to tell our own threads apart
    sansio::outbound_buffer pending_out;
    // Counted under the lock publish takes anyway: two atomic increments per message cost more.
    std::uint64_t out_msgs = 0;
    std::uint64_t out_bytes = 0;
    /// The writer waits for work and has no write in flight. Changed under the lock; read without
    /// it only by the writer deciding whether to keep leaving a burst to its publisher.
    std::atomic<bool> writer_idle{false};
    /// The writer is parked with a timer, leaving a burst to its publisher (publishes do not wake it).
    bool writer_deferred = false;
    /// Since the writer last took, a thread of its own has published into a burst (a quarter
    /// block or more): one the writer may leave to that thread. Bursts from the client's own
    /// threads are never left: nobody would finish them before the timer.
    bool own_thread_burst = false;
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
    std::atomic<std::size_t> writing_size{0};
    mutable std::mutex info_mutex;
    protocol::server_info info;
    std::string current_server;
    std::string last_error_text;
    std::error_code last_error;

    // --- helpers -----------------------------------------------------------------------------

    void set_error(std::error_code ec, std::string text)
    {
        std::lock_guard lock(info_mutex);
        last_error = ec;
        last_error_text = std::move(text);
    }

    /// Writes everything waiting from the calling thread, under out_mutex, with the writer parked
    /// (so no other write is in flight and the socket cannot be closed meanwhile: closing takes
    /// the lock). A thread of its own waits for room when the socket is full, as a blocking client
    /// does, for at most direct_write_block; a thread of the client's io_context never waits.
    /// Returns true when the writer must be woken to finish: the socket took only part (the rest
    /// is back in front of pending_out) or failed (the writer meets the error on its own write and
    /// ends the connection).
    bool direct_write_locked(bool may_block)
    {
        auto deadline = std::chrono::steady_clock::time_point::min();
        pending_out.take(direct_blocks);
        direct_iov.clear();
        std::size_t total = 0;
        for (auto& b : direct_blocks)
        {
            direct_iov.push_back(iovec{b.data(), b.size()});
            total += b.size();
        }
        std::size_t sent = 0, first = 0;
        while (sent < total)
        {
            msghdr mh{};
            mh.msg_iov = direct_iov.data() + first;
            mh.msg_iovlen = std::min<std::size_t>(direct_iov.size() - first, IOV_MAX);
            ssize_t n = ::sendmsg(direct_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0)
            {
                if (errno == EINTR) continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK) break; // the writer reports it
                if (!may_block) break;                                // the writer waits for room
                auto now = std::chrono::steady_clock::now();
                if (deadline == std::chrono::steady_clock::time_point::min()) deadline = now + direct_write_block;
                if (now >= deadline) break;
                pollfd p{direct_fd, POLLOUT, 0};
                auto ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
                if (::poll(&p, 1, static_cast<int>(ms)) < 0 && errno != EINTR) break;
                continue;
            }
            sent += static_cast<std::size_t>(n);
            for (auto left = static_cast<std::size_t>(n); left > 0;)
            {
                iovec& v = direct_iov[first];
                if (left >= v.iov_len)
                {
                    left -= v.iov_len;
                    ++first;
                }
                else
                {
                    v.iov_base = static_cast<char*>(v.iov_base) + left;
                    v.iov_len -= left;
                    left = 0;
                }
            }
        }
        ++direct_writes;
        if (sent == total)
        {
            pending_out.recycle(direct_blocks);
            return false;
        }
        pending_out.put_back_unsent(direct_blocks, sent);
        writer_idle = false;
        writer_deferred = false;
        return true;
    }

    /// Without a CA file, certificates are verified against the system store, read once, here.
    void load_system_cas_once()
    {
        if (system_cas_loaded || !self.opts_.tls.ca_file.empty()) return;
        system_cas_loaded = true;
        boost::system::error_code ignored; // an unreadable store shows as a verification failure
        ssl_ctx.set_default_verify_paths(ignored);
    }

    /// Caps what the kernel holds unsent for this socket (TCP_NOTSENT_LOWAT); the rest waits in
    /// the client, which then writes as the peer drains. With nats-server on the same host this
    /// matters: data queued unsent is transmitted when the server's read opens the window, in the
    /// server's context, so a deep queue makes the server pay for our transmits. Best effort: a
    /// kernel without the option keeps its default.
    void limit_unsent_bytes(int fd) const
    {
        int bytes = static_cast<int>(std::min<std::size_t>(self.opts_.tcp_notsent_lowat, INT_MAX));
        if (bytes > 0) ::setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &bytes, sizeof bytes);
    }

    /// True on a thread that is neither the strand's nor one running the client's io_context: a
    /// publisher of its own, which may wait.
    bool on_own_thread() const
    {
        if (strand.running_in_this_thread()) return false;
        return io_executor && !io_executor->running_in_this_thread();
    }

    /// Closes the socket; first, under out_mutex, takes it away from direct writes, so none is
    /// in the middle of a write to it (or to another socket reusing its number).
    void close_transport()
    {
        {
            std::lock_guard lock(out_mutex);
            direct_fd = -1;
        }
        if (tr) tr->close();
    }

    /// A publisher on a thread of its own waits until the writer has taken the backlog, so a fast
    /// publisher cannot pile up megabytes that go cold before they are written. Threads of the
    /// client's io_context never wait: the writer may need them. Bounded, so a stuck socket
    /// degrades to the plain buffer limit instead of a hang.
    void wait_for_backlog_taken(std::size_t high_water)
    {
        if (!on_own_thread()) return;
        std::unique_lock lock(out_mutex);
        ++publish_waiters;
        backlog_taken.wait_for(lock, std::chrono::milliseconds(100), [&] {
            return pending_out.size() <= high_water / 2 || self.state_.load() != connection_state::connected;
        });
        --publish_waiters;
    }

    /// Sends UNSUB for `sub` (when connected; a reconnect re-subscribes only active ones).
    void send_unsub(const subscription& sub, const std::shared_ptr<client>& keep_alive)
    {
        bool wake;
        {
            std::lock_guard lock(out_mutex);
            auto st = self.state_.load();
            bool up = st == connection_state::connected || st == connection_state::draining;
            if (up) pending_out.append_frame(32, [&](std::string& out) { protocol::encode_unsub(out, sub.sid_); });
            wake = up && writer_idle;
            if (wake) writer_idle = false;
        }
        if (wake) wake_writer(keep_alive);
    }

    /// Drops the subscription from the dispatch table (on the strand).
    void forget(std::uint64_t sid, const std::shared_ptr<client>& keep_alive)
    {
        asio::post(strand, [k = keep_alive, this, sid] {
            absorb_new_subs();
            subs.erase(sid);
        });
    }

    /// Wakes the writer if it waits for work. Any thread.
    void wake_writer(const std::shared_ptr<client>& keep_alive)
    {
        if (strand.running_in_this_thread())
        {
            wake_timer.cancel();
            return;
        }
        asio::post(strand, [k = keep_alive, this] { wake_timer.cancel(); });
    }

    /// Appends a control frame (strand).
    void send_control(std::string_view frame)
    {
        control_out.append(frame);
        bool wake;
        {
            std::lock_guard lock(out_mutex);
            wake = writer_idle;
            writer_idle = false;
        }
        if (wake) wake_timer.cancel();
    }

    void absorb_new_subs()
    {
        std::vector<subscription_ptr> fresh;
        {
            std::lock_guard lock(out_mutex);
            fresh.swap(new_subs);
        }
        for (auto& s : fresh)
            if (s->active_.load()) subs.emplace(s->sid_, std::move(s));
    }

    void report_first_outcome(std::error_code ec)
    {
        if (first_outcome) return;
        first_outcome = true;
        first_error = ec;
        for (auto& h : connect_waiters)
            complete(std::move(h), strand, ec);
        connect_waiters.clear();
    }

    void fail_pending(std::error_code ec)
    {
        for (auto& w : pong_waiters)
            if (w && !w->done)
            {
                w->done = true;
                w->timer.cancel();
                complete(std::move(w->handler), strand, ec);
            }
        pong_waiters.clear();
        auto reqs = std::move(requests);
        requests.clear();
        for (auto& [token, r] : reqs)
        {
            r->timer.cancel();
            complete(std::move(r->handler), strand, ec, message{});
        }
    }

    // --- dispatch ------------------------------------------------------------------------------

    void dispatch(const protocol::frame& f)
    {
        in_msgs.fetch_add(1, std::memory_order_relaxed);
        in_bytes.fetch_add(f.headers.size() + f.payload.size(), std::memory_order_relaxed);
        auto it = subs.find(f.sid);
        if (it == subs.end())
        {
            absorb_new_subs();
            it = subs.find(f.sid);
            if (it == subs.end()) return; // unsubscribed meanwhile
        }
        subscription_ptr sub = it->second;
        if (!sub->active_.load(std::memory_order_relaxed)) return;
        std::uint64_t n = sub->delivered_.fetch_add(1, std::memory_order_relaxed) + 1;
        message_view v{f.subject, f.reply, f.headers, f.payload};
        if (sub->inline_handler_)
        {
            try
            {
                sub->inline_handler_(v);
            }
            catch (const std::exception& e)
            {
                if (events.error) events.error(errc::protocol_error, e.what());
            }
        }
        else
        {
            std::size_t bytes = f.headers.size() + f.payload.size();
            if (sub->pending_msgs_.load(std::memory_order_relaxed) >= sub->pending_msgs_limit_ ||
                sub->pending_bytes_.load(std::memory_order_relaxed) + bytes > sub->pending_bytes_limit_)
            {
                sub->dropped_.fetch_add(1, std::memory_order_relaxed);
                dropped.fetch_add(1, std::memory_order_relaxed);
                if (!sub->slow_reported_)
                {
                    sub->slow_reported_ = true;
                    if (events.error) events.error(errc::slow_consumer, sub->subject_);
                }
            }
            else
            {
                sub->slow_reported_ = false;
                sub->pending_msgs_.fetch_add(1, std::memory_order_relaxed);
                sub->pending_bytes_.fetch_add(bytes, std::memory_order_relaxed);
                asio::post(*sub->strand_, [sub, m = message(v), bytes]() mutable {
                    if (sub->active_.load(std::memory_order_relaxed))
                    {
                        try
                        {
                            sub->handler_(std::move(m));
                        }
                        catch (...)
                        {
                        }
                    }
                    sub->pending_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
                    sub->pending_msgs_.fetch_sub(1, std::memory_order_relaxed);
                });
            }
        }
        if (sub->max_msgs_ != 0 && n >= sub->max_msgs_)
        {
            // Route nothing more to it, but leave it active: the messages already queued for its
            // handler are within max_msgs and must still be delivered.
            subs.erase(sub->sid_);
        }
    }

    void on_reply(const message_view& v)
    {
        auto text = v.subject.substr(inbox_prefix.size());
        std::uint64_t token = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), token);
        if (ec != std::errc{} || end != text.data() + text.size()) return; // not one of ours
        auto it = requests.find(token);
        if (it == requests.end()) return; // timed out already
        auto r = std::move(it->second);
        requests.erase(it);
        r->timer.cancel();
        if (v.status() == 503 && v.payload.empty())
            complete(std::move(r->handler), strand, std::error_code(errc::no_responders), message{});
        else
            complete(std::move(r->handler), strand, std::error_code{}, message(v));
    }

    void on_pong()
    {
        keep.on_pong();
        if (pong_waiters.empty()) return;
        auto w = std::move(pong_waiters.front());
        pong_waiters.pop_front();
        if (w && !w->done)
        {
            w->done = true;
            w->timer.cancel();
            complete(std::move(w->handler), strand, std::error_code{});
        }
    }

    void on_async_info(std::string_view text)
    {
        protocol::server_info fresh;
        if (protocol::parse_server_info(text, fresh)) return;
        max_payload.store(fresh.max_payload);
        headers_ok.store(fresh.headers);
        if (!self.opts_.ignore_discovered_servers && !fresh.connect_urls.empty())
            pool.add_discovered(fresh.connect_urls, tls_wanted, connected_tls_name);
        bool ldm = fresh.lame_duck_mode;
        {
            std::lock_guard lock(info_mutex);
            info = std::move(fresh);
        }
        if (ldm && events.lame_duck) events.lame_duck();
    }

    /// Handles one frame in steady state; an error ends the connection.
    std::error_code handle(const protocol::frame& f)
    {
        switch (f.kind)
        {
        case protocol::frame_kind::msg:
        case protocol::frame_kind::hmsg: dispatch(f); return {};
        case protocol::frame_kind::ping: send_control("PONG\r\n"); return {};
        case protocol::frame_kind::pong: on_pong(); return {};
        case protocol::frame_kind::ok: return {};
        case protocol::frame_kind::info: on_async_info(f.text); return {};
        case protocol::frame_kind::err:
        {
            auto e = classify_server_error(f.text);
            std::string text = "server error: '" + std::string(f.text) + "'";
            if (action_for(e) == server_error_action::report)
            {
                if (events.error) events.error(e, f.text);
                return {};
            }
            set_error(e, text);
            return e;
        }
        }
        return errc::protocol_error;
    }

    // --- the three steady-state loops ----------------------------------------------------------

    awaitable<std::error_code> reader()
    {
        std::size_t needed = 0;
        for (;;)
        {
            for (;;)
            {
                protocol::frame f;
                auto r = protocol::parse_frame(rbuf.data(), f);
                if (r.status == protocol::parse_status::need_more)
                {
                    needed = r.needed;
                    break;
                }
                if (r.status == protocol::parse_status::error)
                {
                    set_error(r.ec, "protocol error from server: " + r.ec.message());
                    co_return r.ec;
                }
                if (auto ec = handle(f)) co_return ec;
                rbuf.consume(r.consumed);
            }
            auto [ec, n] = co_await tr->read_some(rbuf.prepare(needed));
            if (ec) co_return ec;
            rbuf.commit(n);
        }
    }

    /// Ends the current connection from inside one of its loops: the reader sees the closed
    /// socket and the run loop takes over.
    void end_connection(std::error_code ec)
    {
        if (!loop_error) loop_error = ec;
        close_transport();
    }

    void loop_exited()
    {
        if (--loops_running == 0) loops_done.cancel();
    }

    awaitable<void> writer_loop(std::shared_ptr<client> /*keep_alive*/, std::uint64_t gen)
    {
        auto ec = co_await writer(gen);
        if (gen == generation) end_connection(ec);
        loop_exited();
    }

    awaitable<void> pinger_loop(std::shared_ptr<client> /*keep_alive*/, std::uint64_t gen)
    {
        auto ec = co_await pinger(gen);
        if (gen == generation) end_connection(ec);
        loop_exited();
    }

    /// Writes whatever accumulated while the previous write was in flight, at once: publishes coalesce
    /// under load, and an idle connection adds no delay. The lock is held to move the buffer's blocks
    /// out (no copy) and to give them back once written. Control frames go after the publishes taken
    /// with them, so a flush's PING follows everything published before it.
    ///
    /// One exception to "at once": when a write ends with a burst already waiting (a publisher
    /// streaming on its own thread), the writer parks for up to direct_write_wait and leaves the
    /// burst to that publisher, which writes it directly once it fills a block. Anything that
    /// needs the writer (a control frame, a SUB, a direct write the socket could not finish) wakes
    /// it early.
    awaitable<std::error_code> writer(std::uint64_t gen)
    {
        bool may_leave = false; // only right after a write: a burst came in while it was in flight
        auto taken_at = std::chrono::steady_clock::now();
        for (;;)
        {
            if (gen != generation || closing) co_return std::error_code(errc::connection_closed);
            control_writing.swap(control_out);
            enum class next { write, park, leave } what;
            {
                std::lock_guard lock(out_mutex);
                std::size_t waiting = pending_out.size();
                if (may_leave && control_writing.empty() &&
                    leave_burst(waiting, std::chrono::steady_clock::now() - taken_at))
                {
                    what = next::leave;
                    writer_idle = true;
                    writer_deferred = true;
                }
                else
                {
                    writing_size.store(waiting + control_writing.size(), std::memory_order_relaxed);
                    pending_out.take(writing);
                    writer_deferred = false;
                    own_thread_burst = false;
                    writer_idle = writing.empty() && control_writing.empty();
                    what = writer_idle ? next::park : next::write;
                    if (publish_waiters > 0) backlog_taken.notify_all();
                }
            }
            may_leave = false;
            if (what == next::park)
            {
                wake_timer.expires_at(steady_timer::time_point::max());
                co_await wake_timer.async_wait(use_tuple);
                continue;
            }
            if (what == next::leave)
            {
                co_await let_publisher_write();
                continue;
            }
            taken_at = std::chrono::steady_clock::now();
            write_iov.clear();
            for (const auto& block : writing)
                write_iov.push_back(asio::buffer(block));
            if (!control_writing.empty()) write_iov.push_back(asio::buffer(control_writing));
            if (auto ec = co_await tr->write_all(write_iov)) co_return ec;
            control_writing.clear();
            {
                std::lock_guard lock(out_mutex);
                pending_out.recycle(writing);
            }
            writing_size.store(0, std::memory_order_relaxed);
            may_leave = true;
        }
    }

    /// (out) Whether the writer leaves the `waiting` bytes to the thread of its own publishing
    /// them, `since_take` after it took the last batch: only a burst that thread will fill to a
    /// block within direct_write_wait, at the rate it came in meanwhile; a slower one is written now.
    bool leave_burst(std::size_t waiting, std::chrono::steady_clock::duration since_take) const
    {
        const std::size_t block = self.opts_.direct_write_bytes;
        if (!own_thread_burst || direct_fd < 0 || publish_waiters > 0 || waiting < block / 4) return false;
        if (waiting >= block) return true; // the thread's next publish writes it
        auto wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(self.opts_.direct_write_wait);
        return (block - waiting) * static_cast<std::size_t>(since_take.count()) <=
               waiting * static_cast<std::size_t>(wait.count());
    }

    /// The writer parked with a burst left to its publisher. It looks again after
    /// direct_write_wait, and keeps leaving it while the publisher keeps writing blocks and nobody
    /// asks for the writer (a control frame, a SUB, an unfinished direct write: they cancel the
    /// timer), without the lock, which the publisher may hold while it waits for room. Each look
    /// wakes the I/O thread on a core the publisher or the server needs, so the looks double in
    /// spacing up to 25 times direct_write_wait (measured on 2 cores: a look every 2 ms left ours
    /// at 0.89-0.96 of libnats's publish rate, every 5 ms at 1.03). That is also the longest an
    /// unflushed stream's tail waits; flush() sends it at once.
    awaitable<void> let_publisher_write()
    {
        const auto first = self.opts_.direct_write_wait;
        auto look_after = first;
        std::error_code ec;
        std::uint64_t before = 0;
        do
        {
            before = direct_writes.load();
            wake_timer.expires_after(look_after);
            std::tie(ec) = co_await wake_timer.async_wait(use_tuple);
            look_after = std::min(2 * look_after, 25 * first);
        } while (!ec && writer_idle.load() && direct_writes.load() != before);
    }

    awaitable<std::error_code> pinger(std::uint64_t gen)
    {
        for (;;)
        {
            ping_timer.expires_after(self.opts_.ping_interval);
            auto [ec] = co_await ping_timer.async_wait(use_tuple);
            if (ec || gen != generation || closing) co_return std::error_code(errc::connection_closed);
            if (keep.on_interval() == sansio::keepalive::action::stale)
            {
                set_error(errc::stale_connection, "stale connection: no PONG after " +
                                                      std::to_string(self.opts_.max_pings_out) + " PINGs");
                co_return std::error_code(errc::stale_connection);
            }
            pong_waiters.push_back(nullptr);
            send_control("PING\r\n");
        }
    }

    // --- connecting ----------------------------------------------------------------------------

    awaitable<std::error_code> attempt(const sansio::server_entry& entry)
    {
        tr = std::make_unique<transport>(strand);
        rbuf.clear();
        bool timed_out = false;
        deadline.expires_after(self.opts_.connect_timeout);
        deadline.async_wait([this, &timed_out, t = tr.get()](boost::system::error_code ec) {
            if (ec) return;
            timed_out = true;
            resolver.cancel();
            t->close();
        });

        std::string where = entry.url.to_string();
        auto [rec, endpoints] = co_await resolver.async_resolve(entry.url.host, std::to_string(entry.url.port), use_tuple);
        std::error_code ec = rec;
        bool tls_failed = false;
        sansio::handshake hs(make_connect_info(entry), tls_wanted || entry.url.tls);
        if (!ec)
        {
            auto [cec, ep] = co_await asio::async_connect(tr->socket(), endpoints, use_tuple);
            ec = cec;
        }
        if (!ec)
        {
            boost::system::error_code ignored;
            tr->socket().set_option(asio::ip::tcp::no_delay(true), ignored);
            limit_unsent_bytes(tr->socket().native_handle());
            auto act = hs.start();
            while (act.what != sansio::handshake_action::done)
            {
                std::error_code io;
                switch (act.what)
                {
                case sansio::handshake_action::read:
                {
                    auto [rec2, n] = co_await tr->read_some(rbuf.prepare());
                    io = rec2;
                    if (!io) rbuf.commit(n);
                    break;
                }
                case sansio::handshake_action::write: io = co_await tr->write_all(act.bytes); break;
                case sansio::handshake_action::tls_handshake:
                    load_system_cas_once();
                    io = co_await tr->upgrade_to_tls(ssl_ctx, tls_name_for(entry), self.opts_.tls.verify);
                    tls_failed = static_cast<bool>(io);
                    break;
                case sansio::handshake_action::done: break;
                }
                act = hs.resume(io, rbuf);
            }
            ec = act.ec;
        }
        deadline.cancel();

        if (!ec)
        {
            max_payload.store(hs.info().max_payload);
            headers_ok.store(hs.info().headers);
            std::lock_guard lock(info_mutex);
            info = hs.info();
            current_server = where;
            co_return std::error_code{};
        }

        std::string text;
        if (timed_out)
        {
            ec = errc::connect_timeout;
            text = "connect to " + where + " timed out after " + std::to_string(self.opts_.connect_timeout.count()) + "ms";
        }
        else if (ec.category() == server_category())
        {
            text = "server " + where + " refused the connection: '" + hs.server_error_text() + "'";
        }
        else if (tls_failed || (tr->tls() && ec.category() == asio::error::get_ssl_category()))
        {
            text = "TLS handshake failed: " + describe_error(ec) + " (" + where + ")";
            ec = errc::tls_handshake_failed;
        }
        else if (ec == errc::secure_connection_wanted)
        {
            text = "TLS wanted but " + where + " does not offer it";
        }
        else if (tr->tls() && (ec == std::error_code(boost::system::error_code(asio::error::eof)) ||
                                 ec == std::error_code(boost::system::error_code(asio::error::connection_reset)) ||
                                 ec == std::error_code(boost::system::error_code(asio::ssl::error::stream_truncated))))
        {
            text = "TLS handshake failed: the server closed the connection (client certificate refused?) (" + where + ")";
            ec = errc::tls_handshake_failed;
        }
        else
        {
            text = describe_error(ec) + " (" + where + ")";
        }
        set_error(ec, text);
        close_transport();
        co_return ec;
    }

    /// The name to verify and send as SNI: the configured one, else the URL's (or discovered) host.
    const std::string& tls_name_for(const sansio::server_entry& entry) const
    {
        if (!self.opts_.tls.server_name.empty()) return self.opts_.tls.server_name;
        return entry.tls_name.empty() ? entry.url.host : entry.tls_name;
    }

    protocol::connect_info make_connect_info(const sansio::server_entry& entry) const
    {
        const auto& o = self.opts_;
        protocol::connect_info c;
        c.name = o.name;
        c.version = std::string(client_version);
        c.echo = o.echo;
        c.no_responders = o.no_responders;
        c.user = o.user;
        c.pass = o.password;
        c.auth_token = o.token;
        if (!entry.url.user.empty())
        {
            if (entry.url.has_password)
            {
                c.user = entry.url.user;
                c.pass = entry.url.password;
            }
            else
            {
                c.auth_token = entry.url.user;
            }
        }
        return c;
    }

    /// Re-sends every subscription (auto-unsubscribe counts adjusted) before anything buffered.
    awaitable<std::error_code> resubscribe()
    {
        absorb_new_subs();
        std::string out;
        std::vector<std::uint64_t> finished;
        for (auto& [sid, sub] : subs)
        {
            std::uint64_t delivered = sub->delivered_.load();
            if (sub->max_msgs_ != 0 && delivered >= sub->max_msgs_)
            {
                finished.push_back(sid);
                continue;
            }
            protocol::encode_sub(out, sub->subject_, sub->queue_, sid);
            if (sub->max_msgs_ != 0) protocol::encode_unsub(out, sid, sub->max_msgs_ - delivered);
        }
        for (auto sid : finished)
            subs.erase(sid);
        if (out.empty()) co_return std::error_code{};
        co_return co_await tr->write_all(out);
    }

    /// Reader in this coroutine, writer and pinger beside it. Whichever fails first closes the
    /// socket, which ends the others; we return once all three are done. (No parallel group:
    /// closing a socket under its cancellation slots is unsafe in this Asio version.)
    awaitable<std::error_code> steady_state(const std::shared_ptr<client>& keep_alive)
    {
        keep.reset();
        loop_error = {};
        std::uint64_t gen = ++generation;
        loops_running = 2;
        loops_done.expires_at(steady_timer::time_point::max());
        asio::co_spawn(strand, writer_loop(keep_alive, gen), asio::detached);
        asio::co_spawn(strand, pinger_loop(keep_alive, gen), asio::detached);
        std::error_code ec = co_await reader();
        if (!loop_error) loop_error = ec;
        ++generation; // tells the writer and pinger to stop
        close_transport();
        wake_timer.cancel();
        ping_timer.cancel();
        while (loops_running > 0)
            co_await loops_done.async_wait(use_tuple);
        co_return loop_error;
    }

    awaitable<void> run(std::shared_ptr<client> keep_alive)
    {
        std::size_t tried = 0;
        bool ever_connected = false;
        while (!closing)
        {
            if (pool.empty())
            {
                if (!last_error) set_error(errc::no_servers, "no server left to connect to");
                break;
            }
            if (tried >= pool.size())
            {
                tried = 0;
                if (!first_outcome)
                {
                    report_first_outcome(last_error ? last_error : std::error_code(errc::no_servers));
                    if (!self.opts_.retry_on_failed_connect) break;
                }
                if (ever_connected && !self.opts_.allow_reconnect) break;
                sleep_timer.expires_after(backoff.next_delay());
                co_await sleep_timer.async_wait(use_tuple);
                continue;
            }
            auto entry = pool.next();
            ++tried;
            self.state_.store(ever_connected ? connection_state::reconnecting : connection_state::connecting);
            std::error_code ec = co_await attempt(*entry);
            if (closing) break;
            if (ec)
            {
                int auth = ec.category() == server_category() && is_auth_error(static_cast<server_errc>(ec.value()))
                               ? ec.value()
                               : 0;
                pool.failed(entry->url, auth);
                continue;
            }
            pool.connected(entry->url);
            connected_tls_name = entry->tls_name;
            tried = 0;
            if (!self.opts_.ignore_discovered_servers)
                pool.add_discovered(hs_connect_urls(), tls_wanted || entry->url.tls, entry->tls_name);
            if (auto rec = co_await resubscribe())
            {
                set_error(rec, describe_error(rec));
                close_transport();
                continue;
            }
            {
                std::lock_guard lock(out_mutex);
                self.state_.store(connection_state::connected);
                direct_fd = !tr->tls() && self.opts_.direct_write_bytes != 0 ? tr->socket().native_handle() : -1;
            }
            if (ever_connected)
            {
                reconnects.fetch_add(1);
                if (events.reconnected) events.reconnected();
            }
            else if (events.connected)
            {
                events.connected();
            }
            ever_connected = true;
            report_first_outcome({});

            ec = co_await steady_state(keep_alive);

            {
                std::lock_guard lock(out_mutex);
                if (!closing) self.state_.store(connection_state::reconnecting);
                writer_idle = false;
                writer_deferred = false;
                // A direct write that stopped mid-frame left the frame's tail in front: it must
                // not open the next connection (the server would see garbage).
                pending_out.drop_partial_head();
            }
            close_transport();
            ping_timer.cancel();
            wake_timer.cancel();
            writing.clear();
            control_writing.clear();
            writing_size.store(0);
            control_out.clear();
            fail_pending(errc::disconnected);
            if (!closing)
            {
                if (!last_error || last_error != ec) set_error(ec, describe_error(ec));
                if (events.disconnected) events.disconnected(ec);
            }
            if (ec.category() == server_category() && is_auth_error(static_cast<server_errc>(ec.value())))
                pool.failed(entry->url, ec.value());
            if (!self.opts_.allow_reconnect) break;
        }
        {
            std::lock_guard lock(out_mutex);
            self.state_.store(connection_state::closed);
            pending_out.clear();
        }
        close_transport();
        report_first_outcome(last_error ? last_error : std::error_code(errc::connection_closed));
        fail_pending(errc::connection_closed);
        for (auto& [sid, sub] : subs)
            sub->active_.store(false);
        subs.clear();
        if (events.closed) events.closed(last_error);
        events = {};
        co_return;
    }

    std::vector<std::string> hs_connect_urls()
    {
        std::lock_guard lock(info_mutex);
        return info.connect_urls;
    }
};

// ---------------------------------------------------------------------------------------------

std::shared_ptr<client> client::create(executor_type ex, client_options opts, client_events events)
{
    return std::make_shared<client>(private_tag{}, std::move(ex), std::move(opts), std::move(events));
}

client::client(private_tag, executor_type ex, client_options opts, client_events events) : opts_(std::move(opts))
{
    std::optional<asio::io_context::executor_type> io_ex;
    if (auto* p = ex.target<asio::io_context::executor_type>()) io_ex = *p;
    impl_ = std::make_unique<impl>(*this, std::move(ex), opts_, std::move(events));
    impl_->io_executor = io_ex;
    auto seed = make_seed(opts_.random_seed);

    std::vector<server_url> urls;
    for (const auto& s : opts_.servers)
    {
        server_url u;
        if (parse_server_url(s, u))
        {
            impl_->config_error = errc::invalid_url;
            impl_->set_error(errc::invalid_url, "invalid server URL: \"" + s + "\"");
            continue;
        }
        urls.push_back(std::move(u));
    }
    bool any_tls_url = std::any_of(urls.begin(), urls.end(), [](const server_url& u) { return u.tls; });
    impl_->tls_wanted = opts_.require_tls || any_tls_url || !opts_.tls.ca_file.empty() || !opts_.tls.cert_file.empty();
    impl_->pool = sansio::server_pool(std::move(urls), !opts_.no_randomize, opts_.max_reconnect, seed);
    impl_->backoff = sansio::reconnect_backoff(opts_.reconnect_wait,
                                               impl_->tls_wanted ? opts_.reconnect_jitter_tls : opts_.reconnect_jitter,
                                               seed ^ 0x9e3779b97f4a7c15ULL);
    impl_->inbox_prefix = "_INBOX." + make_nuid(impl_->rng) + ".";

    // TLS context: system CAs unless a CA file is given; client certificate for mutual TLS.
    auto& ctx = impl_->ssl_ctx;
    boost::system::error_code ec;
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    // The system store is read at the first TLS upgrade instead (parsing it costs milliseconds,
    // and a plain connection never needs it).
    if (!opts_.tls.ca_file.empty()) ctx.load_verify_file(opts_.tls.ca_file, ec);
    if (ec && !impl_->config_error)
    {
        impl_->config_error = errc::tls_handshake_failed;
        impl_->set_error(errc::tls_handshake_failed, "cannot read TLS CA file \"" + opts_.tls.ca_file + "\": " + describe_error(ec));
    }
    if (!opts_.tls.cert_file.empty() && !impl_->config_error)
    {
        ctx.use_certificate_chain_file(opts_.tls.cert_file, ec);
        if (!ec) ctx.use_private_key_file(opts_.tls.key_file.empty() ? opts_.tls.cert_file : opts_.tls.key_file,
                                          asio::ssl::context::pem, ec);
        if (ec)
        {
            impl_->config_error = errc::tls_handshake_failed;
            impl_->set_error(errc::tls_handshake_failed, "cannot load TLS client certificate/key (\"" +
                                                             opts_.tls.cert_file + "\"): " + describe_error(ec));
        }
    }
}

client::~client() = default;

awaitable<std::error_code> client::connect()
{
    return connect_impl(shared_from_this());
}

awaitable<std::error_code> client::connect_impl(std::shared_ptr<client> self)
{
    if (self->impl_->config_error) co_return self->impl_->config_error;
    // Initiations capture raw pointers only: with use_awaitable, GCC 12 destroys one copy too many
    // of what an initiation holds. `self` in this frame keeps the client alive meanwhile.
    client* raw = self.get();
    auto ec = co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::error_code)>(
        [raw](auto handler) {
            auto owner = raw->shared_from_this();
            asio::post(owner->impl_->strand, [self = owner, h = asio::any_completion_handler<void(std::error_code)>(std::move(handler))]() mutable {
                auto& im = *self->impl_;
                if (im.first_outcome)
                {
                    complete(std::move(h), im.strand, im.first_error);
                    return;
                }
                im.connect_waiters.push_back(std::move(h));
                if (!im.run_started)
                {
                    im.run_started = true;
                    asio::co_spawn(im.strand, im.run(self), asio::detached);
                }
            });
        },
        asio::use_awaitable);
    co_return ec;
}

std::error_code client::publish(std::string_view subject, std::string_view payload, std::string_view reply,
                                const headers* hdrs)
{
    if (!valid_publish_subject(subject)) return errc::invalid_subject;
    if (!reply.empty() && !valid_publish_subject(reply)) return errc::invalid_subject;
    std::size_t hsize = hdrs ? hdrs->encoded_size() : 0;
    if (static_cast<std::int64_t>(hsize + payload.size()) > impl_->max_payload.load(std::memory_order_relaxed))
        return errc::max_payload_exceeded;
    if (hdrs && !impl_->headers_ok.load(std::memory_order_relaxed)) return errc::headers_not_supported;
    if (hdrs && !valid_header_keys(*hdrs)) return errc::invalid_header_key;

    bool wake;
    bool over_high_water;
    {
        std::lock_guard lock(impl_->out_mutex);
        auto st = state_.load(std::memory_order_relaxed);
        if (st == connection_state::closed) return errc::connection_closed;
        bool up = st == connection_state::connected || st == connection_state::draining;
        if (!up && (!opts_.allow_reconnect || opts_.reconnect_buffer_bytes == 0)) return errc::not_connected;
        std::size_t limit = up ? opts_.max_pending_bytes : opts_.reconnect_buffer_bytes;
        std::size_t frame = subject.size() + reply.size() + hsize + payload.size() + 48;
        if (impl_->pending_out.size() + frame > limit)
            return up ? errc::pending_buffer_exceeded : errc::reconnect_buffer_exceeded;
        impl_->pending_out.append_frame(frame, [&](std::string& out) {
            if (hdrs)
            {
                // HPUB with the header block encoded in place, no temporary.
                protocol::encode_hpub_line(out, subject, reply, hsize, hsize + payload.size());
                hdrs->encode(out);
                out.append(payload).append("\r\n");
            }
            else
            {
                protocol::encode_pub(out, subject, reply, payload);
            }
        });
        ++impl_->out_msgs;
        impl_->out_bytes += hsize + payload.size();
        wake = false;
        if (up && impl_->writer_idle)
        {
            // No write in flight. A full block goes out from here; anything less wakes the writer,
            // unless it is leaving this burst to us (it comes back by itself).
            if (impl_->direct_fd >= 0 && impl_->pending_out.size() >= opts_.direct_write_bytes)
                wake = impl_->direct_write_locked(impl_->on_own_thread());
            else if (!impl_->writer_deferred)
            {
                impl_->writer_idle = false;
                wake = true;
            }
        }
        else if (up && !impl_->own_thread_burst && impl_->pending_out.size() >= opts_.direct_write_bytes / 4 &&
                 impl_->direct_fd >= 0 && impl_->on_own_thread())
        {
            impl_->own_thread_burst = true; // a write is in flight and we pile up behind it
        }
        over_high_water = up && opts_.publish_high_water_bytes != 0 &&
                          impl_->pending_out.size() > opts_.publish_high_water_bytes;
    }
    if (wake) impl_->wake_writer(shared_from_this());
    if (over_high_water) impl_->wait_for_backlog_taken(opts_.publish_high_water_bytes);
    return {};
}

std::error_code client::do_subscribe(std::string_view subject, subscribe_options opts, subscription_ptr sub)
{
    if (!valid_subscribe_subject(subject)) return errc::invalid_subject;
    if (!opts.queue.empty() && !valid_queue_name(opts.queue)) return errc::invalid_subject;
    sub->sid_ = impl_->next_sid.fetch_add(1);
    sub->subject_ = std::string(subject);
    sub->queue_ = opts.queue;
    sub->max_msgs_ = opts.max_msgs;
    sub->pending_msgs_limit_ = opts.pending_msgs ? opts.pending_msgs : opts_.sub_pending_msgs;
    sub->pending_bytes_limit_ = opts.pending_bytes ? opts.pending_bytes : opts_.sub_pending_bytes;
    bool wake;
    {
        std::lock_guard lock(impl_->out_mutex);
        if (state_.load() == connection_state::closed) return errc::connection_closed;
        impl_->new_subs.push_back(sub);
        bool up = state_.load() == connection_state::connected;
        if (up)
        {
            impl_->pending_out.append_frame(sub->subject_.size() + sub->queue_.size() + 96, [&](std::string& out) {
                protocol::encode_sub(out, sub->subject_, sub->queue_, sub->sid_);
                if (sub->max_msgs_) protocol::encode_unsub(out, sub->sid_, sub->max_msgs_);
            });
        }
        wake = up && impl_->writer_idle;
        if (wake) impl_->writer_idle = false;
    }
    if (wake) impl_->wake_writer(shared_from_this());
    return {};
}

std::error_code client::subscribe(std::string_view subject, subscribe_options opts, std::function<void(message)> handler,
                                  subscription_ptr& out)
{
    auto sub = std::make_shared<subscription>();
    sub->handler_ = std::move(handler);
    sub->strand_ = std::make_unique<asio::strand<asio::any_io_executor>>(
        asio::make_strand(impl_->strand.get_inner_executor()));
    if (auto ec = do_subscribe(subject, std::move(opts), sub)) return ec;
    out = std::move(sub);
    return {};
}

std::error_code client::subscribe_inline(std::string_view subject, subscribe_options opts,
                                         std::function<void(const message_view&)> handler, subscription_ptr& out)
{
    auto sub = std::make_shared<subscription>();
    sub->inline_handler_ = std::move(handler);
    if (auto ec = do_subscribe(subject, std::move(opts), sub)) return ec;
    out = std::move(sub);
    return {};
}

void client::unsubscribe(const subscription_ptr& sub)
{
    if (!sub || !sub->active_.exchange(false)) return;
    impl_->send_unsub(*sub, shared_from_this());
    impl_->forget(sub->sid_, shared_from_this());
}

awaitable<std::error_code> client::drain_subscription(subscription_ptr sub, std::chrono::milliseconds timeout)
{
    if (!sub || !sub->active_.load()) co_return std::error_code{};
    auto keep = shared_from_this();
    // The server may have sent messages before it reads the UNSUB: they keep being delivered until
    // the PONG that follows proves there are no more.
    impl_->send_unsub(*sub, keep);
    auto ec = co_await flush(timeout);
    if (sub->active_.exchange(false)) impl_->forget(sub->sid_, keep);
    co_return ec;
}

void client::start_request(std::string subject, std::string payload, const headers* hdrs,
                           std::chrono::milliseconds timeout, asio::any_completion_handler<reply_signature> handler)
{
    auto self = shared_from_this();
    auto& outer = *impl_;
    if (!valid_publish_subject(subject)) return complete(std::move(handler), outer.strand, std::error_code(errc::invalid_subject), message{});
    std::size_t hsize = hdrs ? hdrs->encoded_size() : 0;
    if (static_cast<std::int64_t>(hsize + payload.size()) > outer.max_payload.load())
        return complete(std::move(handler), outer.strand, std::error_code(errc::max_payload_exceeded), message{});
    if (hdrs && !valid_header_keys(*hdrs))
        return complete(std::move(handler), outer.strand, std::error_code(errc::invalid_header_key), message{});
    if (hdrs && !outer.headers_ok.load())
        return complete(std::move(handler), outer.strand, std::error_code(errc::headers_not_supported), message{});
    // Encode now (the caller's headers may not outlive this call); register and send on the strand so
    // the reply can never arrive before the request is known. Dispatched, not posted: a caller on the
    // connection's I/O thread registers at once instead of queueing a hop (the handler is still never
    // completed inline: `complete` posts).
    std::string block;
    if (hdrs) hdrs->encode(block);
    asio::dispatch(outer.strand, [self, subject = std::move(subject), payload = std::move(payload), block = std::move(block),
                           timeout, handler = std::move(handler)]() mutable {
        auto& im = *self->impl_;
        if (im.closing || self->state() == connection_state::closed)
            return complete(std::move(handler), im.strand, std::error_code(errc::connection_closed), message{});
        if (!im.inbox_sub)
        {
            subscription_ptr sub;
            auto* raw = &im;
            if (self->subscribe_inline(im.inbox_prefix + "*", {}, [raw](const message_view& v) { raw->on_reply(v); }, sub))
                return complete(std::move(handler), im.strand, std::error_code(errc::connection_closed), message{});
            im.inbox_sub = sub;
        }
        std::uint64_t token = ++im.next_token;
        char digits[24];
        auto digits_end = std::to_chars(digits, digits + sizeof digits, token).ptr;
        std::string& reply = im.reply_subject;
        reply.assign(im.inbox_prefix).append(digits, digits_end);
        std::error_code ec;
        if (block.empty())
        {
            ec = self->publish(subject, payload, reply);
        }
        else
        {
            headers h;
            if (!headers::parse(block, h)) ec = self->publish(subject, payload, reply, &h);
        }
        if (ec) return complete(std::move(handler), im.strand, ec, message{});
        auto r = std::make_unique<impl::pending_request>(impl::pending_request{std::move(handler), steady_timer(im.strand)});
        r->timer.expires_after(timeout);
        r->timer.async_wait([self, token](boost::system::error_code tec) {
            if (tec) return;
            auto& ti = *self->impl_;
            auto it = ti.requests.find(token);
            if (it == ti.requests.end()) return;
            auto req = std::move(it->second);
            ti.requests.erase(it);
            complete(std::move(req->handler), ti.strand, std::error_code(errc::timeout), message{});
        });
        im.requests.emplace(token, std::move(r));
    });
}

awaitable<std::pair<std::error_code, message>> client::request(std::string subject, std::string payload,
                                                                std::chrono::milliseconds timeout, const headers* hdrs)
{
    auto keep = shared_from_this();
    auto [ec, m] = co_await async_request(std::move(subject), std::move(payload), timeout, use_tuple, hdrs);
    co_return std::pair<std::error_code, message>{ec, std::move(m)};
}

awaitable<std::error_code> client::flush(std::chrono::milliseconds timeout)
{
    auto keep = shared_from_this();
    client* raw = this; // see connect_impl: raw pointers only in initiations
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::error_code)>(
        [raw, timeout](auto handler) {
            auto self = raw->shared_from_this();
            asio::post(self->impl_->strand, [self, timeout,
                                             h = asio::any_completion_handler<void(std::error_code)>(std::move(handler))]() mutable {
                auto& im = *self->impl_;
                auto st = self->state();
                if (st != connection_state::connected && st != connection_state::draining)
                    return complete(std::move(h), im.strand, std::error_code(errc::not_connected));
                auto w = std::make_shared<impl::pong_waiter>(impl::pong_waiter{std::move(h), steady_timer(im.strand)});
                w->timer.expires_after(timeout);
                w->timer.async_wait([self, w](boost::system::error_code ec) {
                    if (ec || w->done) return;
                    w->done = true;
                    complete(std::move(w->handler), self->impl_->strand, std::error_code(errc::timeout));
                });
                im.pong_waiters.push_back(w);
                im.send_control("PING\r\n");
            });
        },
        asio::use_awaitable);
}

awaitable<std::error_code> client::drain(std::chrono::milliseconds timeout)
{
    auto self = shared_from_this();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    // The subscriptions are the strand's: collect them there (raw pointer in the initiation, as
    // everywhere with use_awaitable).
    impl* im = impl_.get();
    std::vector<subscription_ptr> draining =
        co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::vector<subscription_ptr>)>(
            [im](auto handler) {
                asio::post(im->strand, [im, h = std::move(handler)]() mutable {
                    im->absorb_new_subs();
                    std::vector<subscription_ptr> out;
                    for (auto& [sid, sub] : im->subs)
                        if (sub != im->inbox_sub) out.push_back(sub);
                    complete(std::move(h), im->strand, std::move(out));
                });
            },
            asio::use_awaitable);
    // UNSUB everything, still active; the PONG after it means the server sent all it will send.
    for (auto& sub : draining)
        impl_->send_unsub(*sub, self);
    if (state() == connection_state::connected) state_.store(connection_state::draining);
    std::error_code ec = co_await flush(std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                     deadline - std::chrono::steady_clock::now()),
                                                 std::chrono::milliseconds(100)));
    // Let what was queued be handled, then stop delivering.
    steady_timer t(co_await asio::this_coro::executor);
    for (;;)
    {
        bool busy = std::any_of(draining.begin(), draining.end(),
                                [](const subscription_ptr& s) { return s->pending_msgs() > 0; });
        if (!busy || std::chrono::steady_clock::now() >= deadline) break;
        t.expires_after(5ms);
        co_await t.async_wait(use_tuple);
    }
    for (auto& s : draining)
        s->active_.store(false);
    close();
    co_return ec;
}

void client::close()
{
    auto self = shared_from_this();
    asio::post(impl_->strand, [self] {
        auto& im = *self->impl_;
        if (im.closing) return;
        im.closing = true;
        {
            std::lock_guard lock(im.out_mutex);
            self->state_.store(connection_state::closed);
        }
        im.sleep_timer.cancel();
        im.ping_timer.cancel();
        im.wake_timer.cancel();
        im.deadline.cancel();
        im.resolver.cancel();
        im.close_transport();
        if (!im.run_started)
        {
            im.report_first_outcome(errc::connection_closed);
            im.events = {};
        }
    });
}

statistics client::stats() const
{
    statistics s;
    s.in_msgs = impl_->in_msgs.load();
    s.in_bytes = impl_->in_bytes.load();
    s.reconnects = impl_->reconnects.load();
    s.dropped_msgs = impl_->dropped.load();
    {
        std::lock_guard lock(impl_->out_mutex);
        s.pending_bytes = impl_->pending_out.size();
        s.out_msgs = impl_->out_msgs;
        s.out_bytes = impl_->out_bytes;
    }
    s.pending_bytes += impl_->writing_size.load();
    s.direct_writes = impl_->direct_writes.load();
    return s;
}

std::string client::current_server() const
{
    std::lock_guard lock(impl_->info_mutex);
    return impl_->current_server;
}

protocol::server_info client::server_info() const
{
    std::lock_guard lock(impl_->info_mutex);
    return impl_->info;
}

std::string client::last_error_text() const
{
    std::lock_guard lock(impl_->info_mutex);
    return impl_->last_error_text;
}

std::error_code client::last_error() const
{
    std::lock_guard lock(impl_->info_mutex);
    return impl_->last_error;
}

} // namespace beamline::nats
