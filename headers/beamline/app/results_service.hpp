#pragma once
// The results loop over JetStream (SPEC §10): the durable pull consumer `router-results` on
// BEAMLINE_RESULTS, each delivered result turned by router/results_pipeline into a usage event
// (PubAck awaited, then +ACK) or a dead letter (then +TERM), a NAK with growing delay when metering
// fails, and the MaxDeliver advisory turned into a dead letter of the original. Shared by every
// router instance: the consumer hands each result to one of them at a time.
//
// This file is wiring: what to do with a result is decided in router/, the JetStream I/O is
// nats/jetstream/. Counters are atomics; the consumer's events run on its strand, each result's
// publish on the client's executor.

#include "beamline/app/jetstream_setup.hpp"
#include "beamline/metrics/registry.hpp"
#include "beamline/nats/client.hpp"
#include "beamline/nats/jetstream/consumer.hpp"
#include "beamline/nats/jetstream/context.hpp"
#include "beamline/router/results_pipeline.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace beamline::app
{

struct results_service_config
{
    jetstream_names names;
    bool bootstrap = true;
    router::result_limits limits;
    // The durable consumer (SPEC §10 defaults).
    std::chrono::milliseconds ack_wait{30'000};
    std::int64_t max_deliver = 5;
    std::vector<std::chrono::milliseconds> backoff{std::chrono::seconds(1), std::chrono::seconds(5),
                                                   std::chrono::seconds(15), std::chrono::seconds(30)};
    std::int64_t max_ack_pending = 1000;
    std::size_t batch = 100;
    std::size_t usage_window = 256; ///< usage publishes awaiting their PubAck at once
    std::chrono::milliseconds consumer_poll{1000};
};

class results_service : public std::enable_shared_from_this<results_service>
{
    struct private_tag
    {
    };

public:
    /// Called once per result that was metered for the first time (not for duplicates).
    using breaker_feed = std::function<void(const router::exec_result&, router::breaker_outcome)>;

    static std::shared_ptr<results_service> create(boost::asio::any_io_executor ex, std::shared_ptr<nats::client> core,
                                                   results_service_config cfg, metrics::registry& reg,
                                                   breaker_feed feed = {});
    results_service(private_tag, boost::asio::any_io_executor ex, std::shared_ptr<nats::client> core,
                    results_service_config cfg, metrics::registry& reg, breaker_feed feed);
    ~results_service();

    /// Makes sure the streams and the consumer exist, then consumes until stop(). Retries the
    /// setup (every few seconds) while JetStream is unavailable; health says why meanwhile.
    void start();
    void stop();

    /// SPEC §12: while `slow()` says so (backpressure active), pull one batch at a time: the next
    /// only once every result of the last one is settled. Call before start().
    void set_pacing(std::function<bool()> slow);

    /// Empty while the loop runs; otherwise why not, in words (for /healthz and the log).
    std::string problem() const;
    /// The consumer's pending + ack-pending, from the last poll and the last delivery's metadata.
    std::uint64_t backlog() const noexcept;
    /// `/v1/status` "jetstream" member.
    boost::json::object status() const;

    struct counters
    {
        std::atomic<std::uint64_t> acked{0};
        std::atomic<std::uint64_t> duplicates{0};
        std::atomic<std::uint64_t> naks{0};
        std::atomic<std::uint64_t> dead_letters{0};
        std::atomic<std::uint64_t> redeliveries{0};
        std::atomic<std::uint64_t> max_deliver_exhausted{0};
    };
    const counters& totals() const noexcept;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

} // namespace beamline::app
