#include "beamline/nats/jetstream/consumer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

namespace beamline::nats::jetstream
{
namespace
{

/// What the server counts against max_bytes for a message, near enough.
std::size_t message_bytes(const message& m)
{
    return m.subject().size() + m.reply().size() + m.header_block().size() + m.payload().size();
}

std::string next_subject(const context& js, std::string_view stream, std::string_view consumer)
{
    std::string s = "CONSUMER.MSG.NEXT.";
    s.append(stream).append(".").append(consumer);
    return js.api_subject(s);
}

} // namespace

// ---- js_message ----

js_message::js_message(std::shared_ptr<client> core, message m) : core_(std::move(core)), msg_(std::move(m))
{
    if (!msg_.reply().empty()) meta_ec_ = parse_ack_metadata(msg_.reply(), meta_);
}

std::error_code js_message::claim(ack_kind kind)
{
    if (meta_ec_) return meta_ec_;
    if (done_) return js_errc::already_acked;
    if (is_terminal(kind)) done_ = true;
    return {};
}

std::error_code js_message::send(ack_kind kind, std::chrono::nanoseconds nak_delay)
{
    if (auto ec = claim(kind)) return ec;
    auto ec = core_->publish(msg_.reply(), ack_body(kind, nak_delay));
    if (ec && is_terminal(kind)) done_ = false; // not sent: the caller may try again
    return ec;
}

asio::awaitable<std::error_code> js_message::ack_sync(ack_kind kind, milliseconds timeout,
                                                      std::chrono::nanoseconds nak_delay)
{
    if (auto ec = claim(kind)) co_return ec;
    auto [ec, reply] = co_await core_->request(std::string(msg_.reply()), ack_body(kind, nak_delay), timeout);
    if (ec && is_terminal(kind)) done_ = false;
    co_return ec;
}

// ---- fetch ----

asio::awaitable<api_result<std::vector<js_message>>> fetch(context& js, std::string stream, std::string consumer,
                                                           fetch_options options)
{
    using result = api_result<std::vector<js_message>>;
    using channel = asio::experimental::concurrent_channel<void(boost::system::error_code, message)>;
    if (!valid_name(stream) || !valid_name(consumer)) co_return failure_of<result::value_type>(js_errc::invalid_name);
    if (options.batch == 0) options.batch = 1;
    auto ex = co_await asio::this_coro::executor;
    // Room for the whole batch, its closing status and heartbeats: try_send never finds it full.
    auto inbox_channel = std::make_shared<channel>(ex, options.batch + 64);
    std::string inbox = new_inbox();
    subscription_ptr sub;
    std::weak_ptr<channel> weak = inbox_channel;
    if (auto ec = js.core().subscribe_inline(inbox, {}, [weak](const message_view& v) {
            if (auto ch = weak.lock()) ch->try_send(boost::system::error_code{}, message(v));
        }, sub))
        co_return failure_of<result::value_type>(ec);

    pull_request req{options.batch, options.max_bytes, options.no_wait ? milliseconds(0) : options.expires,
                     options.heartbeat, options.no_wait};
    if (auto ec = js.core().publish(next_subject(js, stream, consumer), encode_pull_request(req), inbox))
    {
        js.core().unsubscribe(sub);
        co_return failure_of<result::value_type>(ec);
    }

    // The client waits a little longer than the server so that the server's 408 arrives first.
    milliseconds wait = (options.no_wait ? js.options().timeout : options.expires) + milliseconds(1000);
    asio::steady_timer timer(ex, wait);
    timer.async_wait([weak](std::error_code ec) {
        if (ec) return;
        if (auto ch = weak.lock()) ch->try_send(boost::system::error_code(asio::error::timed_out), message{});
    });

    result out;
    std::size_t bytes = 0;
    while (out.value.size() < options.batch && (options.max_bytes == 0 || bytes < options.max_bytes))
    {
        auto [ec, m] = co_await inbox_channel->async_receive(asio::as_tuple(asio::use_awaitable));
        if (ec) break; // our own deadline: what came is the answer

        status_info s = classify(m.view());
        if (s.kind == pull_status::message)
        {
            bytes += message_bytes(m);
            out.value.emplace_back(js.core_ptr(), std::move(m));
            continue;
        }
        if (s.kind == pull_status::idle_heartbeat) continue;
        // Every other status ends the pull; a message-less ending that is not "nothing there" is an error.
        if (out.value.empty() && s.severity != status_severity::silent) out.ec = status_error(s);
        if (out.value.empty() && s.kind == pull_status::no_messages && options.no_wait) out.ec = js_errc::no_messages;
        break;
    }
    timer.cancel();
    js.core().unsubscribe(sub);
    co_return out;
}

// ---- pull_consumer ----

std::shared_ptr<pull_consumer> pull_consumer::create(context& js, std::string stream, std::string consumer,
                                                     consume_options options, consume_events events,
                                                     std::optional<consumer_config> recreate_with)
{
    return std::make_shared<pull_consumer>(private_tag{}, js, std::move(stream), std::move(consumer), options,
                                           std::move(events), std::move(recreate_with));
}

pull_consumer::pull_consumer(private_tag, context& js, std::string stream, std::string consumer,
                             consume_options options, consume_events events,
                             std::optional<consumer_config> recreate_with)
    : js_(js), core_(js.core_ptr()), stream_(std::move(stream)), consumer_(std::move(consumer)),
      next_subject_(next_subject(js, stream_, consumer_)), inbox_(new_inbox()), events_(std::move(events)),
      recreate_with_(std::move(recreate_with)), strand_(asio::make_strand(js.executor())), timer_(strand_),
      machine_(options)
{
}

pull_consumer::~pull_consumer()
{
    if (sub_) core_->unsubscribe(sub_);
}

std::error_code pull_consumer::start()
{
    if (!valid_name(stream_) || !valid_name(consumer_)) return js_errc::invalid_name;
    std::weak_ptr<pull_consumer> weak = weak_from_this();
    auto strand = strand_;
    if (auto ec = core_->subscribe_inline(inbox_, {}, [weak, strand](const message_view& v) {
            // Copy out of the read buffer and leave the connection's strand at once.
            asio::post(strand, [weak, m = message(v)]() mutable {
                if (auto self = weak.lock()) self->on_inbox(std::move(m));
            });
        }, sub_))
        return ec;
    asio::dispatch(strand_, [self = shared_from_this()] {
        self->seen_reconnects_ = self->core_->stats().reconnects;
        self->was_connected_ = self->core_->connected();
        if (!self->was_connected_) self->machine_.on_disconnected(consume_clock::now());
        self->run(self->machine_.start(consume_clock::now()));
        self->arm_timer();
    });
    return {};
}

void pull_consumer::stop()
{
    asio::dispatch(strand_, [self = shared_from_this()] { self->run(self->machine_.stop(js_errc::consume_stopped)); });
}

void pull_consumer::set_paced(bool paced)
{
    paced_.store(paced, std::memory_order_relaxed);
    asio::dispatch(strand_, [self = shared_from_this(), paced] {
        auto now = consume_clock::now();
        self->report_settled(now);
        self->run(self->machine_.set_paced(now, paced));
        self->arm_timer();
    });
}

void pull_consumer::settled()
{
    settled_unreported_.fetch_add(1, std::memory_order_relaxed);
    if (!paced_.load(std::memory_order_relaxed)) return;
    asio::post(strand_, [weak = weak_from_this()] {
        if (auto self = weak.lock())
        {
            self->report_settled(consume_clock::now());
            self->arm_timer();
        }
    });
}

void pull_consumer::report_settled(consume_clock::time_point now)
{
    if (auto n = settled_unreported_.exchange(0, std::memory_order_relaxed))
        run(machine_.on_settled(now, static_cast<std::size_t>(n)));
}

void pull_consumer::on_disconnected()
{
    asio::dispatch(strand_, [self = shared_from_this()] {
        self->was_connected_ = false;
        self->machine_.on_disconnected(consume_clock::now());
    });
}

void pull_consumer::on_reconnected()
{
    asio::dispatch(strand_, [self = shared_from_this()] {
        self->was_connected_ = true;
        self->seen_reconnects_ = self->core_->stats().reconnects;
        self->run(self->machine_.on_reconnected(consume_clock::now()));
        self->arm_timer();
    });
}

void pull_consumer::run(std::vector<consume_action> actions)
{
    for (auto& a : actions)
    {
        switch (a.what)
        {
        case consume_action::kind::pull:
            pulls_.fetch_add(1, std::memory_order_relaxed);
            if (auto ec = core_->publish(next_subject_, encode_pull_request(a.request), inbox_))
                run(machine_.on_pull_failed(consume_clock::now(), ec));
            break;
        case consume_action::kind::warn:
            if (events_.warning) events_.warning(a.error);
            break;
        case consume_action::kind::recreate_consumer:
            asio::co_spawn(strand_, recreate(shared_from_this()), asio::detached);
            break;
        case consume_action::kind::stop:
            timer_.cancel();
            if (sub_) core_->unsubscribe(sub_);
            sub_.reset();
            if (!stop_reported_)
            {
                stop_reported_ = true;
                if (events_.stopped) events_.stopped(a.error);
            }
            break;
        }
    }
}

asio::awaitable<void> pull_consumer::recreate(std::shared_ptr<pull_consumer> self)
{
    std::error_code ec = js_errc::consumer_deleted;
    if (self->recreate_with_)
    {
        auto r = co_await self->js_.create_consumer(self->stream_, *self->recreate_with_);
        ec = r.ec;
    }
    if (ec)
        self->run(self->machine_.on_recreate_failed(consume_clock::now(), ec));
    else
        self->run(self->machine_.on_consumer_recreated(consume_clock::now()));
    self->arm_timer();
}

void pull_consumer::on_inbox(message m)
{
    if (machine_.stopped()) return;
    auto now = consume_clock::now();
    report_settled(now);
    status_info s = classify(m.view());
    if (s.kind == pull_status::message)
    {
        delivered_.fetch_add(1, std::memory_order_relaxed);
        // Pull before handing the message over, so the next batch is on its way meanwhile.
        run(machine_.on_message(now, message_bytes(m)));
        if (events_.message) events_.message(js_message(core_, std::move(m)));
    }
    else
        run(machine_.on_status(now, s));
    arm_timer();
}

void pull_consumer::arm_timer()
{
    if (machine_.stopped()) return;
    auto now = consume_clock::now();
    auto when = now + poll_interval;
    if (auto d = machine_.next_deadline(); d && *d < when) when = *d;
    if (timer_.expiry() > now && timer_.expiry() <= when) return; // already armed early enough
    timer_.expires_at(when);
    timer_.async_wait(asio::bind_executor(strand_, [weak = weak_from_this()](std::error_code ec) {
        if (ec) return;
        if (auto self = weak.lock()) self->on_timer();
    }));
}

void pull_consumer::on_timer()
{
    if (machine_.stopped()) return;
    auto now = consume_clock::now();
    bool connected = core_->connected();
    std::uint64_t reconnects = core_->stats().reconnects;
    if (!connected && was_connected_)
        machine_.on_disconnected(now);
    else if (connected && (!was_connected_ || reconnects != seen_reconnects_))
        run(machine_.on_reconnected(now));
    was_connected_ = connected;
    seen_reconnects_ = reconnects;
    run(machine_.tick(now));
    arm_timer();
}

} // namespace beamline::nats::jetstream
