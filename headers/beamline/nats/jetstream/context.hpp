#pragma once
// JetStream through the core client: the typed `$JS.API` calls, JetStream publish (PubAck,
// de-duplication and expectation headers, ADR-22 retry on 503) and a publisher that keeps many
// publishes in flight. Everything is a request on the public API of nats::client; the JSON lives in
// api_types.hpp, so this file is only the I/O.

#include "beamline/nats/client.hpp"
#include "beamline/nats/jetstream/api_types.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace beamline::nats::jetstream
{

namespace asio = boost::asio;
using std::chrono::milliseconds;

struct jetstream_options
{
    /// A JetStream domain: the API becomes `$JS.<domain>.API`. Ignored when api_prefix is set.
    std::string domain;
    /// The API prefix itself (e.g. an imported `$JS.hub.API`); empty: `$JS.API` or the domain's.
    std::string api_prefix;
    /// How long an API call or a PubAck may take.
    milliseconds timeout{5000};
    /// ADR-22: a publish answered by 503 no responders (the stream is not there yet, e.g. while a
    /// server restarts) is retried this many times, this long apart.
    int publish_retries = 2;
    milliseconds publish_retry_wait{250};
};

struct publish_options
{
    std::string msg_id;               ///< Nats-Msg-Id: de-duplication within the stream's window
    std::string expected_stream;      ///< Nats-Expected-Stream
    std::string expected_last_msg_id; ///< Nats-Expected-Last-Msg-Id
    std::optional<std::uint64_t> expected_last_sequence;         ///< Nats-Expected-Last-Sequence
    std::optional<std::uint64_t> expected_last_subject_sequence; ///< Nats-Expected-Last-Subject-Sequence
    /// More headers, sent as they are (e.g. KV-Operation, Nats-Rollup).
    std::vector<std::pair<std::string, std::string>> extra_headers;
};

/// The headers a publish with `o` carries; empty when it needs none.
headers publish_headers(const publish_options& o);

class context
{
public:
    /// `executor` is the one the client runs on (the client does not expose it); consumers and
    /// publishers make their strands and timers on it.
    context(asio::any_io_executor executor, std::shared_ptr<client> core, jetstream_options options = {});

    const asio::any_io_executor& executor() const noexcept { return executor_; }
    client& core() const noexcept { return *core_; }
    const std::shared_ptr<client>& core_ptr() const noexcept { return core_; }
    const jetstream_options& options() const noexcept { return options_; }
    /// `<prefix>.<suffix>`, e.g. api_subject("STREAM.INFO.T") = "$JS.API.STREAM.INFO.T".
    std::string api_subject(std::string_view suffix) const;

    /// One API request; the reply's object, or the ADR-7 error, `not_enabled` on 503, a timeout.
    asio::awaitable<api_result<boost::json::object>> api_request(std::string suffix, std::string body = {});

    asio::awaitable<api_result<account_info>> get_account_info();

    asio::awaitable<api_result<stream_info>> create_stream(stream_config config);
    asio::awaitable<api_result<stream_info>> update_stream(stream_config config);
    asio::awaitable<api_result<stream_info>> get_stream_info(std::string stream);
    asio::awaitable<api_result<bool>> delete_stream(std::string stream);
    /// The number of messages purged.
    asio::awaitable<api_result<std::uint64_t>> purge_stream(std::string stream, purge_options options);
    asio::awaitable<api_result<std::uint64_t>> purge_stream(std::string stream); ///< every message
    /// Every stream name (pages through the server's lists); `subject` filters by subject.
    asio::awaitable<api_result<std::vector<std::string>>> stream_names(std::string subject = {});
    asio::awaitable<api_result<std::vector<stream_info>>> list_streams();
    asio::awaitable<api_result<stored_message>> get_message(std::string stream, message_query query);

    /// Creates (or, with the same config, finds) a consumer: durable when durable_name is set.
    asio::awaitable<api_result<consumer_info>> create_consumer(std::string stream, consumer_config config);
    asio::awaitable<api_result<consumer_info>> get_consumer_info(std::string stream, std::string consumer);
    asio::awaitable<api_result<bool>> delete_consumer(std::string stream, std::string consumer);
    asio::awaitable<api_result<std::vector<std::string>>> consumer_names(std::string stream);

    /// A JetStream publish: waits for the PubAck. 503 no responders is retried (ADR-22) and then
    /// is `no_stream_response`; a failed expectation is the server's error (e.g. 10071).
    asio::awaitable<api_result<pub_ack>> publish(std::string subject, std::string payload, publish_options options);
    asio::awaitable<api_result<pub_ack>> publish(std::string subject, std::string payload);

private:
    asio::awaitable<api_result<std::vector<std::string>>> names(std::string suffix, std::string key,
                                                               std::string subject);

    asio::any_io_executor executor_;
    std::shared_ptr<client> core_;
    jetstream_options options_;
    std::string prefix_;
};

/// Publishes with many PubAcks outstanding: `publish` returns as soon as the request is out and
/// waits only while `max_in_flight` are unanswered; each PubAck (or error) goes to its callback,
/// which runs on a thread of the client's executor (several may run at once on a multi-threaded
/// io_context). May be used from any number of coroutines.
class async_publisher
{
public:
    using completion = std::function<void(const api_result<pub_ack>&)>;

    explicit async_publisher(const context& js, std::size_t max_in_flight = 256);
    ~async_publisher();
    async_publisher(const async_publisher&) = delete;
    async_publisher& operator=(const async_publisher&) = delete;

    /// Sends once a slot is free.
    asio::awaitable<void> publish(std::string subject, std::string payload, publish_options options,
                                  completion done = {});
    asio::awaitable<void> publish(std::string subject, std::string payload);
    /// Waits until every publish has its answer, or `timeout`; true when none is left.
    asio::awaitable<bool> wait_all(milliseconds timeout);

    std::size_t in_flight() const noexcept;
    std::uint64_t acked() const noexcept;
    std::uint64_t failed() const noexcept;

    struct state;

private:
    std::shared_ptr<state> state_;
};

/// A fresh inbox subject, `_INBOX.<22 random base62 characters>`.
std::string new_inbox();

/// Does `ec` say the request reached nobody (503)?
bool is_no_responders(std::error_code ec) noexcept;

} // namespace beamline::nats::jetstream
