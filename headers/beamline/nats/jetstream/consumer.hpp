#pragma once
// Pull consumers over the core client: a JetStream message with its ack metadata and acks, a
// one-shot `fetch`, and a continuous `pull_consumer` whose decisions are pull_machine's.

#include "beamline/nats/jetstream/ack.hpp"
#include "beamline/nats/jetstream/context.hpp"
#include "beamline/nats/jetstream/pull_machine.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace beamline::nats::jetstream
{

/// A delivered message. Each terminal ack (ack, nak, term) is sent at most once; +WPI any number
/// of times before it. Copies share nothing: ack one object only.
class js_message
{
public:
    js_message() = default;
    js_message(std::shared_ptr<client> core, message m);

    const message& msg() const noexcept { return msg_; }
    std::string_view subject() const noexcept { return msg_.subject(); }
    std::string_view payload() const noexcept { return msg_.payload(); }
    std::optional<std::string_view> header(std::string_view key) const noexcept { return msg_.header(key); }
    /// The parsed `$JS.ACK` reply subject; metadata_error() says why it is missing.
    const ack_metadata& metadata() const noexcept { return meta_; }
    std::error_code metadata_error() const noexcept { return meta_ec_; }
    bool acknowledged() const noexcept { return done_; }

    std::error_code ack() { return send(ack_kind::ack); }
    std::error_code nak(std::chrono::nanoseconds delay = std::chrono::nanoseconds::zero())
    {
        return send(ack_kind::nak, delay);
    }
    std::error_code in_progress() { return send(ack_kind::in_progress); }
    std::error_code term() { return send(ack_kind::term); }
    std::error_code send(ack_kind kind, std::chrono::nanoseconds nak_delay = std::chrono::nanoseconds::zero());
    /// "Double ack": the ack as a request, complete when the server confirms it.
    asio::awaitable<std::error_code> ack_sync(ack_kind kind = ack_kind::ack, milliseconds timeout = milliseconds(5000),
                                              std::chrono::nanoseconds nak_delay = std::chrono::nanoseconds::zero());

private:
    std::error_code claim(ack_kind kind);

    std::shared_ptr<client> core_;
    message msg_;
    ack_metadata meta_;
    std::error_code meta_ec_ = js_errc::not_a_jetstream_message;
    bool done_ = false;
};

struct fetch_options
{
    std::size_t batch = 1;
    std::size_t max_bytes = 0;
    milliseconds expires{5000}; ///< how long the server waits for messages; the client waits 1 s more
    bool no_wait = false;        ///< answer at once: what is there now, or 404
    milliseconds heartbeat{0};   ///< ask for idle heartbeats (only useful for long expiries)
};

/// Pulls up to `batch` messages once. Ends early on 404/408/409; a terminal status (consumer
/// deleted, push based, bad request) is an error only when no message came before it.
asio::awaitable<api_result<std::vector<js_message>>> fetch(context& js, std::string stream, std::string consumer,
                                                           fetch_options options = {});

struct consume_events
{
    std::function<void(js_message)> message;           ///< every stored message, in order
    std::function<void(std::error_code)> warning;      ///< heartbeats missed, 409 Exceeded..., 503
    std::function<void(std::error_code)> stopped;      ///< once, when consuming ends (stop() or terminal)
};

/// A continuous pull consumer. Events run on its own strand, one at a time. The connection's
/// state is polled (every `poll_interval`) so that pulls pause while disconnected and start afresh
/// after a reconnect; an owner wired to client_events can also call on_disconnected/on_reconnected.
class pull_consumer : public std::enable_shared_from_this<pull_consumer>
{
    struct private_tag
    {
    };

public:
    /// `recreate_with`: the configuration to create the consumer again with after 409 Consumer
    /// Deleted (used when options.recreate_deleted_consumer).
    static std::shared_ptr<pull_consumer> create(context& js, std::string stream, std::string consumer,
                                                 consume_options options, consume_events events,
                                                 std::optional<consumer_config> recreate_with = std::nullopt);
    pull_consumer(private_tag, context& js, std::string stream, std::string consumer, consume_options options,
                  consume_events events, std::optional<consumer_config> recreate_with);
    ~pull_consumer();

    std::error_code start();
    /// Asks the consumer to stop; it happens on its strand. Events may still run until `stopped`,
    /// which is the last one: wait for it before destroying what the events touch.
    void stop();
    void on_disconnected();
    void on_reconnected();

    std::uint64_t delivered() const noexcept { return delivered_.load(std::memory_order_relaxed); }
    std::uint64_t pulls() const noexcept { return pulls_.load(std::memory_order_relaxed); }
    /// One batch at a time or pulling ahead (pull_machine); from any thread.
    void set_paced(bool paced);
    /// The owner settled one delivered message (ack, NAK, term); from any thread. Only a paced
    /// consumer waits for these; otherwise they are folded in with the next delivery.
    void settled();
    milliseconds poll_interval{250};

private:
    void run(std::vector<consume_action> actions);
    void arm_timer();
    void on_inbox(message m);
    void on_timer();
    static asio::awaitable<void> recreate(std::shared_ptr<pull_consumer> self);

    context& js_;
    std::shared_ptr<client> core_;
    std::string stream_;
    std::string consumer_;
    std::string next_subject_;
    std::string inbox_;
    consume_events events_;
    std::optional<consumer_config> recreate_with_;
    asio::strand<asio::any_io_executor> strand_;
    asio::steady_timer timer_;
    pull_machine machine_;
    subscription_ptr sub_;
    std::uint64_t seen_reconnects_ = 0;
    bool was_connected_ = true;
    bool stop_reported_ = false;
    std::atomic<std::uint64_t> delivered_{0};
    std::atomic<std::uint64_t> pulls_{0};
    std::atomic<std::uint64_t> settled_unreported_{0};
    std::atomic<bool> paced_{false};
    void report_settled(consume_clock::time_point now);
};

} // namespace beamline::nats::jetstream
