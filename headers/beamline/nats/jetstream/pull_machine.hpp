#pragma once
// The decisions of a continuous pull consumer (ADR-37 `consume`), with no I/O and no clock of its
// own: the owner feeds it events with the time they happened and carries out the actions it
// returns (send a pull request, report a warning, stop, recreate the consumer). So heartbeats,
// thresholds, reconnects and every status can be tested with a fake clock.
//
// Accounting: each pull asks for up to `batch` messages / `max_bytes`. What was asked and not yet
// received is "pending". A message lowers it; a status that ends a pull subtracts what that pull had
// left (its Nats-Pending-* headers). When pending falls to the threshold, the machine pulls the
// difference. With no message and no heartbeat for twice the heartbeat interval it reports missed
// heartbeats and pulls afresh. While disconnected it neither pulls nor checks heartbeats; on
// reconnect the server has forgotten our pulls, so it pulls a full batch.
//
// Paced ("one batch at a time", SPEC §12 while backpressure is active): no threshold pulls; the
// next full batch is asked for only once the last pull has ended (nothing pending) and the owner
// has settled (acked, NAKed, terminated) every message delivered so far. Slower, never stopped.

#include "beamline/nats/jetstream/pull_status.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace beamline::nats::jetstream
{

using std::chrono::milliseconds;
using consume_clock = std::chrono::steady_clock;

struct consume_options
{
    std::size_t batch = 100;       ///< messages asked for per full pull
    std::size_t max_bytes = 0;     ///< bytes per full pull; 0: no byte limit
    milliseconds expires{30000};   ///< how long the server keeps one pull open
    /// Idle heartbeat the server sends while a pull waits; 0: the ADR-37 default, expires/2 clamped to
    /// [0.5 s, 30 s] (none when expires < 1 s). Negative: off.
    milliseconds heartbeat{0};
    std::size_t threshold_messages = 0; ///< re-pull when pending messages fall to this; 0: batch/2
    std::size_t threshold_bytes = 0;    ///< re-pull when pending bytes fall to this; 0: max_bytes/2
    milliseconds retry_delay{1000};     ///< after a warning status, wait this long before pulling again
    bool recreate_deleted_consumer = false; ///< on 409 Consumer Deleted: recreate instead of stopping
};

/// One pull request to send to `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`.
struct pull_request
{
    std::size_t batch = 1;
    std::size_t max_bytes = 0;
    milliseconds expires{0};
    milliseconds heartbeat{0};
    bool no_wait = false;
};

/// The JSON body of a pull request (durations in nanoseconds).
std::string encode_pull_request(const pull_request& r);

struct consume_action
{
    enum class kind
    {
        pull,              ///< send `request`
        warn,              ///< report `error`, keep consuming
        recreate_consumer, ///< the durable was deleted: create it again, then call on_consumer_recreated
        stop,              ///< consuming is over with `error`
    };
    kind what = kind::pull;
    pull_request request{};
    std::error_code error{};
};

class pull_machine
{
public:
    using time_point = consume_clock::time_point;

    explicit pull_machine(consume_options options);

    /// The heartbeat the machine asks for (after defaults), 0 when off.
    milliseconds heartbeat() const noexcept { return heartbeat_; }
    std::size_t pending_messages() const noexcept { return pending_msgs_; }
    std::size_t pending_bytes() const noexcept { return pending_bytes_; }
    bool stopped() const noexcept { return stopped_; }
    bool connected() const noexcept { return connected_; }
    bool paced() const noexcept { return paced_; }
    /// Messages delivered and not yet reported settled by the owner.
    std::size_t unsettled() const noexcept { return unsettled_; }

    std::vector<consume_action> start(time_point now);
    /// A stored message of `bytes` (subject + headers + payload, as the server counts) arrived.
    std::vector<consume_action> on_message(time_point now, std::size_t bytes);
    /// A status message arrived on the inbox.
    std::vector<consume_action> on_status(time_point now, const status_info& status);
    /// The pull request could not be sent or JetStream did not answer it (e.g. 503 on the API).
    std::vector<consume_action> on_pull_failed(time_point now, std::error_code ec);
    void on_disconnected(time_point now);
    std::vector<consume_action> on_reconnected(time_point now);
    std::vector<consume_action> on_consumer_recreated(time_point now);
    /// Recreating failed: stop with that error.
    std::vector<consume_action> on_recreate_failed(time_point now, std::error_code ec);
    /// The timer fired (or any time): checks heartbeats and retries that are due.
    std::vector<consume_action> tick(time_point now);
    /// When tick() next has something to decide; nullopt when nothing is timed.
    std::optional<time_point> next_deadline() const noexcept;
    std::vector<consume_action> stop(std::error_code reason);
    /// One batch at a time (true) or pulls ahead by threshold (false, the default).
    std::vector<consume_action> set_paced(time_point now, bool paced);
    /// The owner settled `n` delivered messages.
    std::vector<consume_action> on_settled(time_point now, std::size_t n = 1);

private:
    void pull_up_to_full(time_point now, std::vector<consume_action>& out);
    void pull_if_below_threshold(time_point now, std::vector<consume_action>& out);
    void stop_with(std::error_code ec, std::vector<consume_action>& out);

    consume_options options_;
    milliseconds heartbeat_{0};
    std::size_t threshold_msgs_ = 0;
    std::size_t threshold_bytes_ = 0;
    std::size_t pending_msgs_ = 0;
    std::size_t pending_bytes_ = 0;
    std::size_t unsettled_ = 0;
    bool paced_ = false;
    time_point last_activity_{};
    time_point pull_expires_at_{};
    std::optional<time_point> retry_at_;
    bool connected_ = true;
    bool started_ = false;
    bool stopped_ = false;
    bool recreating_ = false;
};

} // namespace beamline::nats::jetstream
