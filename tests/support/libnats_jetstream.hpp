// libnats's JetStream API as the independent peer of JetStream tests: publish with a PubAck,
// asynchronous publish, and a pull subscription that fetches and acks. Failures are natsStatus
// values with libnats' text, never thrown.
#pragma once

#include "libnats_peer.hpp"

#include <cstdint>
#include <nats/nats.h>
#include <optional>
#include <string>
#include <vector>

namespace beamline::test
{

struct libnats_pub_ack
{
    std::string stream;
    std::uint64_t seq = 0;
    bool duplicate = false;
};

struct fetched_message
{
    std::string subject;
    std::string data;
    std::uint64_t delivered = 0;
    std::uint64_t stream_seq = 0;
};

class libnats_jetstream
{
public:
    explicit libnats_jetstream(libnats_peer& peer, std::int64_t max_pending_async = 4000);
    ~libnats_jetstream();
    libnats_jetstream(const libnats_jetstream&) = delete;
    libnats_jetstream& operator=(const libnats_jetstream&) = delete;

    natsStatus status() const { return status_; }
    jsCtx* get() const { return js_; }

    // js_Publish: nullopt on failure, with the status and the JetStream error code.
    std::optional<libnats_pub_ack> publish(const std::string& subject, const std::string& data,
                                           const std::string& msg_id = {}, natsStatus* failure = nullptr,
                                           jsErrCode* code = nullptr);
    // js_PublishAsync `count` times, then js_PublishAsyncComplete.
    natsStatus publish_async(const std::string& subject, const std::string& data, int count,
                             std::int64_t complete_timeout_ms = 30000);
    // js_PublishAsync of each body in order, then js_PublishAsyncComplete.
    natsStatus publish_async_each(const std::string& subject, const std::vector<std::string>& bodies,
                                  std::int64_t complete_timeout_ms = 60000);
    // Adds a stream on `subjects` (file storage).
    natsStatus add_stream(const std::string& name, const std::vector<std::string>& subjects);

private:
    jsCtx* js_ = nullptr;
    natsStatus status_ = NATS_OK;
};

// js_PullSubscribe bound to a durable; fetch() acks what it returns unless told not to.
class libnats_pull_subscription
{
public:
    libnats_pull_subscription(libnats_jetstream& js, const std::string& subject, const std::string& durable,
                              const std::string& stream);
    ~libnats_pull_subscription();
    libnats_pull_subscription(const libnats_pull_subscription&) = delete;
    libnats_pull_subscription& operator=(const libnats_pull_subscription&) = delete;

    natsStatus status() const { return status_; }
    // natsSubscription_Fetch of up to `batch`; empty on timeout. Acks each message when `ack`.
    std::vector<fetched_message> fetch(int batch, std::int64_t timeout_ms, bool ack = true,
                                       natsStatus* failure = nullptr);

private:
    natsSubscription* sub_ = nullptr;
    natsStatus status_ = NATS_OK;
};

} // namespace beamline::test
