#pragma once
// What a JetStream message's `$JS.ACK` reply subject says about it, and the bodies that acknowledge
// it. Pure: no I/O.
//
//   v1:  $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts_ns>.<pending>        (9 tokens)
//   v2:  $JS.ACK.<domain|_>.<acc_hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts_ns>.<pending>[.<token>...]
//        (11 tokens or more; `_` means no domain)
// Anything else — 10 tokens, another prefix, an empty token, a number that is not plain decimal — is
// rejected, so a forged or mangled subject is never acked as if it were a message's.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace beamline::nats::jetstream
{

struct ack_metadata
{
    std::string domain;       ///< empty without a domain (v1, or v2 with `_`)
    std::string account_hash; ///< v2 only
    std::string stream;
    std::string consumer;
    std::uint64_t delivered = 0;    ///< delivery count, 1 on the first delivery
    std::uint64_t stream_seq = 0;
    std::uint64_t consumer_seq = 0;
    std::uint64_t timestamp_ns = 0; ///< when the message was stored, ns since the epoch
    std::uint64_t pending = 0;      ///< messages left for the consumer after this one
};

/// Parses a reply subject; `js_errc::invalid_ack_subject` for anything that is not one of the formats.
std::error_code parse_ack_metadata(std::string_view reply_subject, ack_metadata& out);

enum class ack_kind
{
    ack,         ///< +ACK
    nak,         ///< -NAK, optionally with a delay
    in_progress, ///< +WPI: resets the ack wait; may be sent many times
    term,        ///< +TERM: never redeliver (2.9 takes no reason)
};

/// The body for `kind`; `nak_delay` (> 0) gives `-NAK {"delay":<ns>}`.
std::string ack_body(ack_kind kind, std::chrono::nanoseconds nak_delay = std::chrono::nanoseconds::zero());

/// Whether the ack ends the message's delivery: every kind but +WPI.
constexpr bool is_terminal(ack_kind kind) noexcept { return kind != ack_kind::in_progress; }

} // namespace beamline::nats::jetstream
