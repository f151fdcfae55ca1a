#pragma once
// The `$JS.API` request and reply types this layer uses, and their JSON. Pure: no I/O. Field names
// and units follow the server's JSON (durations in nanoseconds on the wire, milliseconds here).
// Only what 2.9 knows is written; unknown reply fields are ignored.

#include "beamline/nats/jetstream/error.hpp"

#include <boost/json/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace beamline::nats::jetstream
{

using std::chrono::milliseconds;

/// The outcome of an API call: `ec` (jetstream_category for server errors, where `error` keeps
/// the server's code and description) and the value when `ec` is clear.
template <class T>
struct api_result
{
    using value_type = T;
    std::error_code ec;
    api_error error;
    T value{};

    explicit operator bool() const noexcept { return !ec; }
    std::string error_text() const { return describe(ec, error); }
};

// Coroutines return results made by these functions, never a braced `api_result<T>{...}`: GCC 12
// miscompiles an aggregate with std::string members initialised in place inside a coroutine
// (co_return/co_yield of `T{...}`, or `{}` bound to a by-value coroutine parameter), copying it
// bitwise so that a string later frees a pointer into the coroutine frame.
template <class T>
api_result<T> failure_of(std::error_code ec, api_error detail = {})
{
    api_result<T> r;
    r.ec = ec;
    r.error = std::move(detail);
    return r;
}

template <class T>
api_result<T> success_of(T value)
{
    api_result<T> r;
    r.value = std::move(value);
    return r;
}

struct stream_config
{
    std::string name;
    std::string description;
    std::vector<std::string> subjects;
    std::string retention = "limits"; ///< limits | interest | workqueue
    std::string storage = "file";     ///< file | memory
    std::string discard = "old";      ///< old | new
    std::int64_t max_consumers = -1;
    std::int64_t max_msgs = -1;
    std::int64_t max_bytes = -1;
    std::int64_t max_msgs_per_subject = -1;
    std::int32_t max_msg_size = -1;
    milliseconds max_age{0};
    milliseconds duplicate_window{0}; ///< 0: the server's default (2 min, clamped to max_age)
    int num_replicas = 1;
    bool allow_rollup_hdrs = false;
    bool deny_delete = false;
    bool deny_purge = false;
    bool allow_direct = false;
};

struct stream_state
{
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;
    std::uint64_t first_seq = 0;
    std::uint64_t last_seq = 0;
    std::uint64_t num_subjects = 0;
    std::int64_t consumer_count = 0;
};

struct stream_info
{
    stream_config config;
    stream_state state;
    std::string created;
};

struct consumer_config
{
    std::string durable_name;  ///< empty: ephemeral
    std::string name;
    std::string description;
    std::string deliver_policy = "all"; ///< all | last | new | by_start_sequence | last_per_subject
    std::uint64_t opt_start_seq = 0;
    std::string ack_policy = "explicit"; ///< explicit | all | none
    milliseconds ack_wait{0};            ///< 0: the server's default (30 s)
    std::int64_t max_deliver = 0;        ///< 0: the server's default (unlimited)
    std::vector<milliseconds> backoff;
    std::string filter_subject;
    std::string replay_policy = "instant";
    std::int64_t max_ack_pending = 0;
    std::int64_t max_waiting = 0;
    std::int64_t max_batch = 0;
    milliseconds max_expires{0};
    milliseconds inactive_threshold{0};
    bool headers_only = false;
    bool mem_storage = false;
    int num_replicas = 0;
    // push consumers (KV watch)
    std::string deliver_subject;
    milliseconds idle_heartbeat{0};
    bool flow_control = false;
};

struct sequence_info
{
    std::uint64_t consumer_seq = 0;
    std::uint64_t stream_seq = 0;
};

struct consumer_info
{
    std::string stream_name;
    std::string name;
    consumer_config config;
    sequence_info delivered;
    sequence_info ack_floor;
    std::uint64_t num_ack_pending = 0;
    std::uint64_t num_redelivered = 0;
    std::uint64_t num_waiting = 0;
    std::uint64_t num_pending = 0;
};

struct account_info
{
    std::uint64_t memory = 0;
    std::uint64_t storage = 0;
    std::uint64_t streams = 0;
    std::uint64_t consumers = 0;
    std::uint64_t api_total = 0;
    std::uint64_t api_errors = 0;
    std::string domain;
};

struct pub_ack
{
    std::string stream;
    std::uint64_t seq = 0;
    bool duplicate = false;
    std::string domain;
};

/// A message read back with `$JS.API.STREAM.MSG.GET`.
struct stored_message
{
    std::string subject;
    std::uint64_t seq = 0;
    std::string header_block; ///< decoded wire block (`NATS/1.0\r\n...`), empty when none
    std::string data;
    std::string time;
};

struct purge_options
{
    std::string filter;     ///< only this subject (may have wildcards)
    std::uint64_t seq = 0;  ///< purge up to, not including, this sequence
    std::uint64_t keep = 0; ///< keep this many newest messages
};

/// Which stored message to get: by sequence, or the last one on a subject.
struct message_query
{
    std::uint64_t seq = 0;
    std::string last_by_subject;
};

// ---- JSON ----

/// Reads an API reply: `invalid_reply` when it is not a JSON object; the ADR-7 error when it has
/// an `error` member (then `err` holds it); otherwise `out` is the object.
std::error_code parse_api_reply(std::string_view payload, boost::json::object& out, api_error& err);

std::string to_json(const stream_config& c);
/// `{"stream_name":..,"config":{..}}` for CONSUMER.CREATE / DURABLE.CREATE.
std::string consumer_create_request(std::string_view stream, const consumer_config& c);
std::string to_json(const purge_options& p);
std::string to_json(const message_query& q);

std::error_code from_json(const boost::json::object& o, stream_config& out);
std::error_code from_json(const boost::json::object& o, stream_info& out);
std::error_code from_json(const boost::json::object& o, consumer_info& out);
std::error_code from_json(const boost::json::object& o, account_info& out);
std::error_code from_json(const boost::json::object& o, pub_ack& out);
/// The `message` member of a MSG.GET reply (base64 `hdrs` and `data` decoded).
std::error_code from_json(const boost::json::object& o, stored_message& out);

/// A whole PubAck reply: parse_api_reply then from_json.
api_result<pub_ack> parse_pub_ack(std::string_view payload);

/// Decodes standard base64 (with or without padding); false on a character outside the alphabet.
bool base64_decode(std::string_view in, std::string& out);

/// Is `name` usable as a stream, consumer or bucket name: non-empty, no `.`, `*`, `>`, whitespace.
bool valid_name(std::string_view name) noexcept;

} // namespace beamline::nats::jetstream
