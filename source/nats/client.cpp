// The client's public API: what each call checks, appends or hands to the strand. The engine that
// performs the connection lives in engine.cpp and connection.cpp (see detail/engine.hpp).

#include "beamline/nats/client.hpp"

#include "beamline/nats/detail/engine.hpp"
#include "beamline/nats/protocol/encoder.hpp"
#include "beamline/nats/protocol/publish_check.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <algorithm>
#include <random>

namespace beamline::nats
{

using namespace std::chrono_literals;
using asio::awaitable;
using detail::complete;
using detail::use_tuple;
using steady_timer = asio::steady_timer;

namespace
{
std::uint64_t make_seed(std::uint64_t configured)
{
    if (configured != 0) return configured;
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

/// A random 22-character base62 identifier (as NUID) for the request inbox.
std::string make_nuid(std::uint64_t seed)
{
    static constexpr char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    std::mt19937_64 rng(seed);
    std::string out(22, '0');
    for (auto& c : out)
        c = alphabet[rng() % 62];
    return out;
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

std::shared_ptr<client> client::create(executor_type ex, client_options opts, client_events events)
{
    return std::make_shared<client>(private_tag{}, std::move(ex), std::move(opts), std::move(events));
}

client::client(private_tag, executor_type ex, client_options opts, client_events events) : opts_(std::move(opts))
{
    std::optional<asio::io_context::executor_type> io_ex;
    if (auto* p = ex.target<asio::io_context::executor_type>()) io_ex = *p;
    auto seed = make_seed(opts_.random_seed);

    std::vector<server_url> urls;
    std::string bad_url;
    for (const auto& s : opts_.servers)
    {
        server_url u;
        if (parse_server_url(s, u))
        {
            bad_url = s;
            continue;
        }
        urls.push_back(std::move(u));
    }
    bool any_tls_url = std::any_of(urls.begin(), urls.end(), [](const server_url& u) { return u.tls; });
    bool tls_wanted = opts_.require_tls || any_tls_url || !opts_.tls.ca_file.empty() || !opts_.tls.cert_file.empty();
    sansio::server_pool pool(std::move(urls), !opts_.no_randomize, opts_.max_reconnect, seed);
    sansio::reconnect_backoff backoff(opts_.reconnect_wait, tls_wanted ? opts_.reconnect_jitter_tls : opts_.reconnect_jitter,
                                      seed ^ 0x9e3779b97f4a7c15ULL);
    sansio::run_policy policy{opts_.allow_reconnect, opts_.retry_on_failed_connect, opts_.ignore_discovered_servers,
                              tls_wanted};
    impl_ = std::make_unique<impl>(*this, std::move(ex), opts_, std::move(events),
                                   sansio::run_fsm(std::move(pool), std::move(backoff), policy),
                                   "_INBOX." + make_nuid(make_seed(opts_.random_seed)) + ".");
    impl_->io_executor = io_ex;
    impl_->tls_wanted = tls_wanted;
    if (!bad_url.empty())
    {
        impl_->config_error = errc::invalid_url;
        impl_->set_error(errc::invalid_url, "invalid server URL: \"" + bad_url + "\"");
    }
    else if (impl_->tls.error())
    {
        impl_->config_error = impl_->tls.error();
        impl_->set_error(impl_->tls.error(), impl_->tls.error_text());
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
    // Anything the server would refuse is refused here, before a byte is written: the server would
    // answer it by closing the connection, at the cost of every other caller.
    if (auto ec = protocol::check_publish(subject, reply, hdrs, payload.size(), impl_->limits())) return ec;
    std::size_t hsize = hdrs ? hdrs->encoded_size() : 0;

    auto& im = *impl_;
    bool wake = false;
    bool over_high_water;
    {
        std::lock_guard lock(im.out_mutex);
        auto st = state_.load(std::memory_order_relaxed);
        if (st == connection_state::closed) return errc::connection_closed;
        bool up = st == connection_state::connected || st == connection_state::draining;
        if (!up && (!opts_.allow_reconnect || opts_.reconnect_buffer_bytes == 0)) return errc::not_connected;
        std::size_t limit = up ? opts_.max_pending_bytes : opts_.reconnect_buffer_bytes;
        std::size_t frame = subject.size() + reply.size() + hsize + payload.size() + 48;
        if (im.pending_out.size() + frame > limit) return up ? errc::pending_buffer_exceeded : errc::reconnect_buffer_exceeded;
        im.pending_out.append_frame(frame, [&](std::string& out) {
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
        ++im.out_msgs;
        im.out_bytes += hsize + payload.size();
        if (up)
        {
            using act = sansio::writer_fsm::publish_action;
            switch (im.writer_state.on_publish(im.pending_out.size(), im.direct_fd >= 0, [&] { return im.on_own_thread(); }))
            {
            case act::none: break;
            case act::wake_writer: wake = true; break;
            case act::write_directly: wake = im.direct_write_locked(im.on_own_thread()); break;
            }
        }
        over_high_water = up && opts_.publish_high_water_bytes != 0 && im.pending_out.size() > opts_.publish_high_water_bytes;
    }
    if (wake) im.wake_writer(shared_from_this());
    if (over_high_water) im.wait_for_backlog_taken(opts_.publish_high_water_bytes);
    return {};
}

std::error_code client::do_subscribe(std::string_view subject, subscribe_options opts, subscription_ptr sub)
{
    if (auto ec = protocol::check_subscribe(subject, opts.queue, impl_->limits())) return ec;
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
        wake = up && impl_->writer_state.on_needs_writer();
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
    // The reply subject is the inbox prefix and a token of up to 20 digits.
    constexpr std::size_t max_token_digits = 20;
    if (auto ec = protocol::check_publish(subject, {}, hdrs, payload.size(), outer.limits(),
                                          outer.requests.inbox_prefix().size() + max_token_digits))
        return complete(std::move(handler), outer.strand, ec, message{});
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
            if (self->subscribe_inline(im.requests.inbox_subject(), {}, [raw](const message_view& v) { raw->on_reply(v); },
                                       sub))
                return complete(std::move(handler), im.strand, std::error_code(errc::connection_closed), message{});
            im.inbox_sub = sub;
        }
        auto [token, reply] = im.requests.next_reply_subject();
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
        im.add_request(token, std::move(handler), timeout, self);
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
    for (std::size_t i = 0; i < s.connect_failures.size(); ++i)
        s.connect_failures[i] = impl_->connect_failures[i].load(std::memory_order_relaxed);
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
