#pragma once
// Idempotency records in KV bucket `beamline_idempotency` (router.state=jetstream): key
// `<tenant>.<hex of idempotency_key>`, written create-only (a put expecting the key's last
// sequence to be 0), so of two routers racing one key one wins and the other replays its reply.
// The bucket's max age is router.idempotency_ttl_s. Claims run as coroutines on the client's
// executor; the caller's thread never waits.

#include "beamline/app/kv_watch.hpp"
#include "beamline/router/shared_state.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace beamline::app
{

namespace asio = boost::asio;
namespace js = nats::jetstream;

class kv_idempotency final : public router::shared_idempotency, public std::enable_shared_from_this<kv_idempotency>
{
public:
    kv_idempotency(js::context& jsc, int replicas, std::chrono::seconds ttl);
    void start();
    /// The bucket is open: claims (or writes) go to it.
    bool ready() const noexcept { return ready_.load(std::memory_order_acquire); }
    void stop();
    void claim(std::string tenant_id, std::string key, router::request_fingerprint fingerprint, std::string reply,
               std::function<void(router::idempotency_claim)> done) override;

private:
    static asio::awaitable<void> open(std::shared_ptr<kv_idempotency> self);
    static asio::awaitable<void> run(std::shared_ptr<kv_idempotency> self, std::string key, std::string value,
                                     router::request_fingerprint fingerprint,
                                     std::function<void(router::idempotency_claim)> done);
    static asio::awaitable<router::idempotency_claim> settle(js::kv_bucket& bucket, std::string key,
                                                             std::string value, router::request_fingerprint fingerprint);

    js::context& js_;
    js::kv_config config_;
    std::optional<js::kv_bucket> bucket_; ///< set once, before ready_
    std::atomic<bool> ready_{false};
    std::atomic<bool> stopping_{false};
};

} // namespace beamline::app
