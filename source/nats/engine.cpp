// The engine's shared helpers: errors, waking the writer, the direct write, subscriptions'
// bookkeeping, dispatch of delivered messages, replies to requests and their timer, PONGs, INFO.

#include "beamline/nats/detail/engine.hpp"

#include "beamline/nats/protocol/encoder.hpp"

namespace beamline::nats
{

using detail::complete;

client::impl::impl(client& owner, asio::any_io_executor ex, const client_options& o, client_events ev,
                   sansio::run_fsm run, std::string inbox_prefix)
    : self(owner), strand(asio::make_strand(ex)), events(std::move(ev)), tls(o.tls), runner(std::move(run)),
      keep(o.max_pings_out), requests(std::move(inbox_prefix)), wake_timer(strand), ping_timer(strand), sleep_timer(strand),
      deadline(strand), request_timer(strand), resolver(strand), loops_done(strand),
      writer_state(sansio::writer_settings{o.direct_write_bytes, o.direct_write_wait})
{
}

void client::impl::set_error(std::error_code ec, std::string text)
{
    std::lock_guard lock(info_mutex);
    last_error = ec;
    last_error_text = std::move(text);
}

/// True on a thread that is neither the strand's nor one running the client's io_context: a
/// publisher of its own, which may wait.
bool client::impl::on_own_thread() const
{
    if (strand.running_in_this_thread()) return false;
    return io_executor && !io_executor->running_in_this_thread();
}

/// Writes everything waiting from the calling thread, under out_mutex, with the writer parked
/// (so no other write is in flight and the socket cannot be closed meanwhile: closing takes
/// the lock). Returns true when the writer must be woken to finish: the socket took only part (the
/// rest is back in front of pending_out) or failed (the writer meets the error on its own write and
/// ends the connection).
bool client::impl::direct_write_locked(bool may_block)
{
    std::size_t total = pending_out.size();
    pending_out.take(direct_blocks);
    std::size_t sent = detail::send_blocks(direct_fd, direct_blocks, direct_iov, may_block, direct_write_block);
    ++direct_writes;
    if (sent == total)
    {
        pending_out.recycle(direct_blocks);
        return false;
    }
    pending_out.put_back_unsent(direct_blocks, sent);
    writer_state.on_direct_write_unfinished();
    return true;
}

/// Closes the socket; first, under out_mutex, takes it away from direct writes, so none is in the
/// middle of a write to it (or to another socket reusing its number).
void client::impl::close_transport()
{
    {
        std::lock_guard lock(out_mutex);
        direct_fd = -1;
    }
    if (tr) tr->close();
}

/// A publisher on a thread of its own waits until the writer has taken the backlog, so a fast
/// publisher cannot pile up megabytes that go cold before they are written. Threads of the
/// client's io_context never wait: the writer may need them. Bounded, so a stuck socket degrades
/// to the plain buffer limit instead of a hang.
void client::impl::wait_for_backlog_taken(std::size_t high_water)
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
void client::impl::send_unsub(const subscription& sub, const std::shared_ptr<client>& keep_alive)
{
    bool wake;
    {
        std::lock_guard lock(out_mutex);
        auto st = self.state_.load();
        bool up = st == connection_state::connected || st == connection_state::draining;
        if (up) pending_out.append_frame(32, [&](std::string& out) { protocol::encode_unsub(out, sub.sid_); });
        wake = up && writer_state.on_needs_writer();
    }
    if (wake) wake_writer(keep_alive);
}

/// Drops the subscription from the dispatch table (on the strand).
void client::impl::forget(std::uint64_t sid, const std::shared_ptr<client>& keep_alive)
{
    asio::post(strand, [k = keep_alive, this, sid] {
        absorb_new_subs();
        subs.erase(sid);
    });
}

/// Wakes the writer if it waits for work. Any thread.
void client::impl::wake_writer(const std::shared_ptr<client>& keep_alive)
{
    if (strand.running_in_this_thread())
    {
        wake_timer.cancel();
        return;
    }
    asio::post(strand, [k = keep_alive, this] { wake_timer.cancel(); });
}

/// Appends a control frame (strand).
void client::impl::send_control(std::string_view frame)
{
    control_out.append(frame);
    bool wake;
    {
        std::lock_guard lock(out_mutex);
        wake = writer_state.on_needs_writer();
    }
    if (wake) wake_timer.cancel();
}

void client::impl::absorb_new_subs()
{
    std::vector<subscription_ptr> fresh;
    {
        std::lock_guard lock(out_mutex);
        fresh.swap(new_subs);
    }
    for (auto& s : fresh)
        if (s->active_.load()) subs.emplace(s->sid_, std::move(s));
}

void client::impl::report_first_outcome(std::error_code ec)
{
    if (first_outcome) return;
    first_outcome = true;
    first_error = ec;
    for (auto& h : connect_waiters)
        complete(std::move(h), strand, ec);
    connect_waiters.clear();
}

/// What cannot survive the connection: flushes waiting for their PONG and pending requests.
void client::impl::fail_pending(std::error_code ec)
{
    for (auto& w : pong_waiters)
        if (w && !w->done)
        {
            w->done = true;
            w->timer.cancel();
            complete(std::move(w->handler), strand, ec);
        }
    pong_waiters.clear();
    requests.fail_all([&](reply_handler&& h) { complete(std::move(h), strand, ec, message{}); });
    request_timer_at.reset();
    request_timer.cancel();
}

// --- dispatch ------------------------------------------------------------------------------------

namespace
{
/// Adds to a counter that only one thread at a time writes (here: the connection's strand).
std::uint64_t bump(std::atomic<std::uint64_t>& counter, std::uint64_t n) noexcept
{
    const std::uint64_t v = counter.load(std::memory_order_relaxed) + n;
    counter.store(v, std::memory_order_relaxed);
    return v;
}
} // namespace

void client::impl::dispatch(const protocol::frame& f)
{
    // Counted only here, on the connection's strand: a load and a store, no locked add, and
    // readers on other threads still see whole values.
    bump(in_msgs, 1);
    bump(in_bytes, f.headers.size() + f.payload.size());
    auto it = subs.find(f.sid);
    if (it == subs.end())
    {
        absorb_new_subs();
        it = subs.find(f.sid);
        if (it == subs.end()) return; // unsubscribed meanwhile
    }
    // A reference, not a copy: the map changes only on this strand, and neither an inline handler
    // nor the queueing below changes it (an unsubscribe is posted), so no count is taken per message.
    const subscription_ptr& sub = it->second;
    if (!sub->active_.load(std::memory_order_relaxed)) return;
    const std::uint64_t n = bump(sub->delivered_, 1);
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
        sansio::delivery_gate gate{sub->pending_msgs_limit_, sub->pending_bytes_limit_, sub->slow_reported_};
        auto admitted = gate.admit(sub->pending_msgs_.load(std::memory_order_relaxed),
                                   sub->pending_bytes_.load(std::memory_order_relaxed), bytes);
        sub->slow_reported_ = gate.slow_reported;
        if (admitted != sansio::admission::queue)
        {
            sub->dropped_.fetch_add(1, std::memory_order_relaxed);
            dropped.fetch_add(1, std::memory_order_relaxed);
            if (admitted == sansio::admission::drop_and_report && events.error)
                events.error(errc::slow_consumer, sub->subject_);
        }
        else
        {
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
    // Route nothing more to it, but leave it active: the messages already queued for its handler
    // are within max_msgs and must still be delivered.
    if (sansio::reached_max_msgs(n, sub->max_msgs_)) subs.erase(it); // `sub` is not used after
}

void client::impl::on_pong()
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

void client::impl::on_async_info(const protocol::server_info& fresh)
{
    max_payload.store(fresh.max_payload);
    headers_ok.store(fresh.headers);
    runner.on_servers_announced(fresh.connect_urls);
    bool ldm = fresh.lame_duck_mode;
    {
        std::lock_guard lock(info_mutex);
        info = fresh;
    }
    if (ldm && events.lame_duck) events.lame_duck();
}

// --- requests ------------------------------------------------------------------------------------

void client::impl::on_reply(const message_view& v)
{
    auto answered = requests.on_reply(v);
    if (!answered) return; // not one of ours, or timed out already
    if (answered->second)
        complete(std::move(answered->first), strand, answered->second, message{});
    else
        complete(std::move(answered->first), strand, std::error_code{}, message(v));
}

void client::impl::add_request(std::uint64_t token, reply_handler h, std::chrono::milliseconds timeout,
                               const std::shared_ptr<client>& keep_alive)
{
    auto at = steady_timer::clock_type::now() + timeout;
    requests.add(token, std::move(h), at);
    if (!request_timer_at || at < *request_timer_at) arm_request_timer(keep_alive);
}

/// One timer for every pending request, set to the earliest deadline; when it fires, the mux hands
/// back what timed out and the timer moves on to the next deadline.
void client::impl::arm_request_timer(const std::shared_ptr<client>& keep_alive)
{
    auto next = requests.next_deadline();
    if (!next)
    {
        request_timer_at.reset();
        request_timer.cancel();
        return;
    }
    if (request_timer_at == next) return;
    request_timer_at = next;
    request_timer.expires_at(*next);
    request_timer.async_wait([k = keep_alive, this, at = *next](boost::system::error_code ec) {
        // A wait that was re-armed or cancelled, even one that had already expired, is stale.
        if (ec || request_timer_at != at) return;
        request_timer_at.reset();
        requests.expire(steady_timer::clock_type::now(), [&](reply_handler&& h) {
            complete(std::move(h), strand, std::error_code(errc::timeout), message{});
        });
        arm_request_timer(k);
    });
}

} // namespace beamline::nats
