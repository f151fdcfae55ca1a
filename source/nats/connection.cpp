// The engine's run loop: it performs what sansio::run_fsm decides (connect, re-subscribe, run,
// back off, close), and the three coroutines of a live connection (reader, writer, pinger), each
// performing what its machine decides. Nothing here decides policy; it does I/O and bookkeeping.

#include "beamline/nats/detail/engine.hpp"

#include "beamline/nats/connect_failure.hpp"
#include "beamline/nats/protocol/encoder.hpp"
#include "beamline/nats/sansio/handshake.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>

#include <tuple>

namespace beamline::nats
{

using asio::awaitable;
using detail::use_tuple;
using steady_timer = asio::steady_timer;

namespace
{
constexpr std::string_view client_version = "0.1.0";
}

// --- the steady-state loops ----------------------------------------------------------------------

awaitable<std::error_code> client::impl::reader()
{
    auto act = reading.next(rbuf);
    for (;;)
    {
        switch (act.what)
        {
        case sansio::reader_action::read:
        {
            auto [ec, n] = co_await tr->read_some(rbuf.prepare(act.needed));
            act = reading.on_read(ec, n, rbuf);
            continue;
        }
        case sansio::reader_action::deliver: dispatch(reading.frame()); break;
        case sansio::reader_action::send_pong: send_control("PONG\r\n"); break;
        case sansio::reader_action::pong: on_pong(); break;
        case sansio::reader_action::info: on_async_info(reading.info()); break;
        case sansio::reader_action::report_error:
            if (events.error) events.error(act.ec, act.text);
            break;
        case sansio::reader_action::fail:
            if (!reading.error_text().empty()) set_error(act.ec, reading.error_text());
            co_return act.ec;
        }
        act = reading.next(rbuf);
    }
}

/// Ends the current connection from inside one of its loops: the reader sees the closed socket and
/// the run loop takes over.
void client::impl::end_connection(std::error_code ec)
{
    if (!loop_error) loop_error = ec;
    close_transport();
}

void client::impl::loop_exited()
{
    if (--loops_running == 0) loops_done.cancel();
}

awaitable<void> client::impl::writer_loop(std::shared_ptr<client> /*keep_alive*/, std::uint64_t gen)
{
    auto ec = co_await writer(gen);
    if (gen == generation) end_connection(ec);
    loop_exited();
}

awaitable<void> client::impl::pinger_loop(std::shared_ptr<client> /*keep_alive*/, std::uint64_t gen)
{
    auto ec = co_await pinger(gen);
    if (gen == generation) end_connection(ec);
    loop_exited();
}

/// Writes whatever accumulated while the previous write was in flight, at once: publishes coalesce
/// under load, and an idle connection adds no delay. The lock is held to move the buffer's blocks
/// out (no copy) and to give them back once written. Control frames go after the publishes taken
/// with them, so a flush's PING follows everything published before it. When to leave a burst to
/// its publisher instead is sansio::writer_fsm's decision.
awaitable<std::error_code> client::impl::writer(std::uint64_t gen)
{
    for (;;)
    {
        if (gen != generation || closing) co_return std::error_code(errc::connection_closed);
        control_writing.swap(control_out);
        sansio::writer_fsm::writer_action what;
        {
            std::lock_guard lock(out_mutex);
            std::size_t waiting = pending_out.size();
            what = writer_state.next(waiting, !control_writing.empty(), direct_fd >= 0, publish_waiters > 0,
                                     std::chrono::steady_clock::now());
            if (what != sansio::writer_fsm::writer_action::leave_burst)
            {
                writing_size.store(waiting + control_writing.size(), std::memory_order_relaxed);
                pending_out.take(writing);
                if (publish_waiters > 0) backlog_taken.notify_all();
            }
        }
        if (what == sansio::writer_fsm::writer_action::park)
        {
            wake_timer.expires_at(steady_timer::time_point::max());
            co_await wake_timer.async_wait(use_tuple);
            continue;
        }
        if (what == sansio::writer_fsm::writer_action::leave_burst)
        {
            co_await let_publisher_write();
            continue;
        }
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
    }
}

/// The writer parked with a burst left to its publisher. It looks again after the machine's
/// interval while the publisher keeps writing blocks and nobody asks for the writer (a control
/// frame, a SUB, an unfinished direct write: they cancel the timer), without the lock, which the
/// publisher may hold while it waits for room. Each look wakes the I/O thread on a core the
/// publisher or the server needs, hence the doubling (measured on 2 cores: a look every 2 ms left
/// ours at 0.89-0.96 of libnats's publish rate, every 5 ms at 1.03). That is also the longest an
/// unflushed stream's tail waits; flush() sends it at once.
awaitable<void> client::impl::let_publisher_write()
{
    auto wait = writer_state.first_look();
    for (;;)
    {
        std::uint64_t before = direct_writes.load();
        wake_timer.expires_after(wait);
        auto [ec] = co_await wake_timer.async_wait(use_tuple);
        if (ec || !writer_state.look_again(direct_writes.load() != before)) co_return;
        wait = writer_state.look_after();
    }
}

awaitable<std::error_code> client::impl::pinger(std::uint64_t gen)
{
    for (;;)
    {
        ping_timer.expires_after(self.opts_.ping_interval);
        auto [ec] = co_await ping_timer.async_wait(use_tuple);
        if (ec || gen != generation || closing) co_return std::error_code(errc::connection_closed);
        if (keep.on_interval() == sansio::keepalive::action::stale)
        {
            set_error(errc::stale_connection,
                      "stale connection: no PONG after " + std::to_string(self.opts_.max_pings_out) + " PINGs");
            connect_failures[static_cast<std::size_t>(connect_failure_reason::stale)].fetch_add(
                1, std::memory_order_relaxed);
            co_return std::error_code(errc::stale_connection);
        }
        pong_waiters.push_back(nullptr);
        send_control("PING\r\n");
    }
}

// --- connecting ----------------------------------------------------------------------------------

// GCC 12 warns that this coroutine's frame is freed by a mismatched operator delete: a false
// positive of its inliner on Asio's frame allocator (the frame is allocated and freed by the same
// awaitable_frame_base operators), seen only once this function moved out of the class body.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
awaitable<std::error_code> client::impl::attempt(const sansio::server_entry& entry)
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
        detail::limit_unsent_bytes(tr->socket().native_handle(), self.opts_.tcp_notsent_lowat);
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
                io = co_await tr->upgrade_to_tls(tls.for_handshake(), tls_name_for(entry), self.opts_.tls.verify);
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

    co_return attempt_failed({ec, where, timed_out, self.opts_.connect_timeout, tls_failed, tr->tls(),
                              hs.server_error_text()});
}

#pragma GCC diagnostic pop

/// Names the failure (connect_failure.hpp), records it and closes the socket.
std::error_code client::impl::attempt_failed(const connect_attempt_facts& facts)
{
    auto failure = describe_connect_failure(facts);
    connect_failures[static_cast<std::size_t>(failure.reason)].fetch_add(1, std::memory_order_relaxed);
    set_error(failure.ec, std::move(failure.text));
    close_transport();
    return failure.ec;
}

/// The name to verify and send as SNI: the configured one, else the URL's (or discovered) host.
const std::string& client::impl::tls_name_for(const sansio::server_entry& entry) const
{
    if (!self.opts_.tls.server_name.empty()) return self.opts_.tls.server_name;
    return entry.tls_name.empty() ? entry.url.host : entry.tls_name;
}

protocol::connect_info client::impl::make_connect_info(const sansio::server_entry& entry) const
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
awaitable<std::error_code> client::impl::resubscribe()
{
    absorb_new_subs();
    std::string out;
    std::vector<std::uint64_t> finished;
    for (auto& [sid, sub] : subs)
    {
        std::uint64_t delivered = sub->delivered_.load();
        if (sansio::reached_max_msgs(delivered, sub->max_msgs_))
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

/// Reader in this coroutine, writer and pinger beside it. Whichever fails first closes the socket,
/// which ends the others; we return once all three are done. (No parallel group: closing a socket
/// under its cancellation slots is unsafe in this Asio version.)
awaitable<std::error_code> client::impl::steady_state(const std::shared_ptr<client>& keep_alive)
{
    keep.reset();
    reading = {};
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

/// Performs run_fsm's actions until it says closed.
awaitable<void> client::impl::run(std::shared_ptr<client> keep_alive)
{
    auto act = closing ? runner.on_close() : runner.start();
    for (;;)
    {
        if (act.report_first_outcome && act.what != sansio::run_action::run)
            report_first_outcome(last_error ? last_error : std::error_code(errc::no_servers));
        if (act.what == sansio::run_action::closed)
        {
            if (act.pool_exhausted && !last_error) set_error(errc::no_servers, "no server left to connect to");
            break;
        }
        switch (act.what)
        {
        case sansio::run_action::sleep:
            sleep_timer.expires_after(act.delay);
            co_await sleep_timer.async_wait(use_tuple);
            act = closing ? runner.on_close() : runner.on_sleep_done();
            continue;
        case sansio::run_action::connect:
        {
            self.state_.store(act.reconnecting ? connection_state::reconnecting : connection_state::connecting);
            std::error_code ec = co_await attempt(runner.server());
            if (closing)
                act = runner.on_close();
            else if (ec)
                act = runner.on_connect_result(ec);
            else
            {
                std::vector<std::string> announced;
                {
                    std::lock_guard lock(info_mutex);
                    announced = info.connect_urls;
                }
                act = runner.on_connect_result(ec, announced);
            }
            continue;
        }
        case sansio::run_action::resubscribe:
        {
            auto ec = co_await resubscribe();
            if (ec)
            {
                set_error(ec, describe_error(ec));
                close_transport();
            }
            act = closing ? runner.on_close() : runner.on_resubscribed(ec);
            continue;
        }
        case sansio::run_action::run: break;
        case sansio::run_action::closed: break;
        }

        // run: the connection is live.
        {
            std::lock_guard lock(out_mutex);
            self.state_.store(connection_state::connected);
            direct_fd = !tr->tls() && self.opts_.direct_write_bytes != 0 ? tr->socket().native_handle() : -1;
            writer_state.start();
        }
        if (act.reconnecting)
        {
            reconnects.fetch_add(1);
            if (events.reconnected) events.reconnected();
        }
        else if (events.connected)
        {
            events.connected();
        }
        if (act.report_first_outcome) report_first_outcome({});

        std::error_code ec = co_await steady_state(keep_alive);

        {
            std::lock_guard lock(out_mutex);
            if (!closing) self.state_.store(connection_state::reconnecting);
            writer_state.stop();
            // A direct write that stopped mid-frame left the frame's tail in front: it must not
            // open the next connection (the server would see garbage).
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
        act = closing ? runner.on_close() : runner.on_connection_lost(ec);
    }
    {
        std::lock_guard lock(out_mutex);
        self.state_.store(connection_state::closed);
        writer_state.stop();
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

} // namespace beamline::nats
