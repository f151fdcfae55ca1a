#pragma once
// What a status message on a pull consumer's inbox means (ADR-13, ADR-37), from its status code,
// description and pending headers. Pure: no I/O.
//
// | status | description                         | meaning                 | severity |
// |--------|-------------------------------------|-------------------------|----------|
// | 100    | Idle Heartbeat                      | heartbeat               | —        |
// | 404    | No Messages                         | pull ended, nothing     | silent   |
// | 408    | Request Timeout                     | pull expired            | silent   |
// | 409    | Message Size Exceeds MaxBytes       | pull ended              | silent   |
// | 409    | Leadership Change                   | pull ended, pull again  | silent   |
// | 409    | Exceeded MaxWaiting / MaxRequest*   | pull refused            | warning  |
// | 409    | Consumer Deleted                    | consumer gone           | terminal |
// | 409    | Consumer is push based              | wrong kind of consumer  | terminal |
// | 400    | Bad Request                         | request malformed       | terminal |
// | 503    | (no responders)                     | JetStream unreachable   | warning  |

#include "beamline/nats/message.hpp"

#include <cstdint>
#include <string_view>
#include <system_error>

namespace beamline::nats::jetstream
{

enum class pull_status
{
    message,             ///< not a status: a stored message to hand to the application
    idle_heartbeat,
    no_messages,         ///< 404
    request_timeout,     ///< 408
    max_bytes_exceeded,  ///< 409 Message Size Exceeds MaxBytes: the next message is larger than max_bytes
    leadership_change,   ///< 409 Leadership Change
    limit_exceeded,      ///< 409 Exceeded MaxWaiting, MaxRequestBatch, MaxRequestExpires, MaxRequestMaxBytes
    consumer_deleted,    ///< 409 Consumer Deleted
    push_based,          ///< 409 Consumer is push based
    bad_request,         ///< 400
    no_responders,       ///< 503
    unknown,             ///< any other status: treated as a warning that ends the pull
};

enum class status_severity
{
    none,     ///< messages and heartbeats
    silent,   ///< a pull ended normally: pull again, tell no one
    warning,  ///< a pull was refused or could not reach JetStream: report, keep consuming
    terminal, ///< consuming cannot go on: stop and report
};

struct status_info
{
    pull_status kind = pull_status::message;
    status_severity severity = status_severity::none;
    /// From `Nats-Pending-Messages` / `Nats-Pending-Bytes` on 408/409: what the ended pull still had
    /// outstanding, to subtract from what the client thinks is pending.
    std::uint64_t pending_messages = 0;
    std::uint64_t pending_bytes = 0;
    /// Whether the pull request this status answers is over (every status but a heartbeat).
    bool ends_pull() const noexcept { return kind != pull_status::message && kind != pull_status::idle_heartbeat; }
};

/// Classifies by status code and description (the description is compared case-insensitively).
status_info classify_status(int status, std::string_view description) noexcept;

/// Classifies a delivered message: `message` when it has no status line (or a payload with status 0).
status_info classify(const message_view& m) noexcept;

/// The error_code for a terminal or warning status (e.g. js_errc::consumer_deleted); none otherwise.
std::error_code status_error(const status_info& s) noexcept;

} // namespace beamline::nats::jetstream
