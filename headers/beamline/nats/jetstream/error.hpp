#pragma once
// Errors of the JetStream layer. One category, `nats.jetstream`, holds both what the client detects
// itself (values below 10000) and the server's ADR-7 API errors, whose value is the server's
// `err_code` (10059 stream not found, ...), so callers compare against `js_errc` either way. The
// server's own description travels next to the code in `api_error`, since an error_code is only an int.

#include <string>
#include <string_view>
#include <system_error>

namespace beamline::nats::jetstream
{

enum class js_errc
{
    // detected by the client
    invalid_reply = 1,        ///< an API reply or PubAck that is not the JSON expected
    not_enabled,              ///< 503 no responders on `$JS.API`: JetStream is off or unreachable
    no_stream_response,       ///< 503 no responders on a publish: no stream takes the subject
    invalid_ack_subject,      ///< a reply subject that is neither `$JS.ACK` format
    already_acked,            ///< a second terminal ack of one message
    not_a_jetstream_message,  ///< ack of a message with no `$JS.ACK` reply subject
    invalid_name,             ///< a stream, consumer or bucket name with `.`, `*`, `>` or whitespace
    invalid_key,              ///< a KV key that is not a valid subject token sequence
    bad_request,              ///< 400 from a pull request: the request itself is wrong
    consumer_deleted,         ///< 409 Consumer Deleted during a pull
    consumer_is_push_based,   ///< 409 Consumer is push based
    heartbeats_missed,        ///< no message and no idle heartbeat for twice the heartbeat interval
    no_messages,              ///< a no_wait fetch found nothing (404)
    key_not_found,            ///< KV get of a key with no value or a delete/purge marker
    wrong_last_revision,      ///< KV create/update lost the race (maps 10071 for KV)
    consume_stopped,          ///< the consume loop was stopped by its owner
    pull_refused,             ///< 409 Exceeded MaxWaiting / MaxRequest*: the consumer's limits refuse the pull
    unexpected_status,        ///< a status a pull consumer does not know
    // ADR-7 err_codes the layer treats specially; any other err_code is kept as it is
    jetstream_not_enabled_for_account = 10039,
    consumer_name_in_use = 10013,
    consumer_not_found = 10014,
    insufficient_resources = 10023,
    message_too_large = 10054,
    stream_name_in_use = 10058,
    stream_not_found = 10059,
    subjects_overlap = 10065,
    wrong_last_msg_id = 10070,
    wrong_last_sequence = 10071,
    jetstream_not_enabled = 10076,
    stream_wrong_expected = 10060,
    no_message_found = 10037,
    consumer_already_exists = 10148,
    duplicate_in_progress = 10158,
};

const std::error_category& jetstream_category() noexcept;

inline std::error_code make_error_code(js_errc e) noexcept { return {static_cast<int>(e), jetstream_category()}; }

/// An ADR-7 error reply: `{"error":{"code":404,"err_code":10059,"description":"stream not found"}}`.
struct api_error
{
    int code = 0;     ///< HTTP-like status
    int err_code = 0; ///< JetStream's own number; 0 when the server gave none
    std::string description;

    /// The error_code in jetstream_category: the err_code, or the status when there is none.
    std::error_code error() const noexcept;
    /// "stream not found (err_code 10059)".
    std::string text() const;
};

/// Words for an error of any category, with the server's description when it is a JetStream
/// API error ("stream not found (err_code 10059)"); for one-line operator messages.
std::string describe(std::error_code ec, const api_error& detail = {});

} // namespace beamline::nats::jetstream

template <>
struct std::is_error_code_enum<beamline::nats::jetstream::js_errc> : std::true_type
{
};
