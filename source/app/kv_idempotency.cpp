#include "beamline/app/kv_idempotency.hpp"

#include "beamline/app/logging.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

namespace beamline::app
{

namespace
{

using verdict = router::idempotency_claim::verdict;

router::idempotency_claim claim_of(verdict kind, std::string reply = {}, std::string message = {})
{
    router::idempotency_claim c;
    c.kind = kind;
    c.reply = std::move(reply);
    c.message = std::move(message);
    return c;
}

} // namespace

kv_idempotency::kv_idempotency(js::context& jsc, int replicas, std::chrono::seconds ttl) : js_(jsc)
{
    config_.bucket = std::string(idempotency_bucket);
    config_.description = "beamline-router idempotency records, key <tenant>.<hex of idempotency_key>";
    config_.history = 1;
    // One TTL for every record: the bucket's max age is the router's idempotency TTL.
    config_.ttl = std::chrono::duration_cast<std::chrono::milliseconds>(ttl);
    config_.replicas = replicas;
}

void kv_idempotency::start()
{
    asio::co_spawn(js_.executor(), open(shared_from_this()), asio::detached);
}

void kv_idempotency::stop()
{
    stopping_.store(true);
}

asio::awaitable<void> kv_idempotency::open(std::shared_ptr<kv_idempotency> self)
{
    auto r = co_await open_bucket_retrying(self->js_, self->config_, self->stopping_);
    if (r.ec) co_return;
    self->bucket_ = std::move(r.value);
    self->ready_.store(true, std::memory_order_release);
    log::info("idempotency records shared in KV", {{"bucket", self->bucket_->name()}});
}

void kv_idempotency::claim(std::string tenant_id, std::string key, router::request_fingerprint fingerprint,
                           std::string reply, std::function<void(router::idempotency_claim)> done)
{
    if (!ready_.load(std::memory_order_acquire))
    {
        auto c = claim_of(verdict::unavailable, {},
                          "the KV bucket " + std::string(idempotency_bucket) + " is not open yet (JetStream unreachable?)");
        // Never before claim() returns: the caller may still be setting up.
        asio::post(js_.executor(), [done = std::move(done), c = std::move(c)] { done(c); });
        return;
    }
    router::idempotency_record record;
    record.fingerprint = fingerprint;
    record.reply = std::move(reply);
    asio::co_spawn(js_.executor(),
                   run(shared_from_this(), router::idempotency_record_key(tenant_id, key),
                       router::encode_idempotency_record(record), fingerprint, std::move(done)),
                   asio::detached);
}

asio::awaitable<void> kv_idempotency::run(std::shared_ptr<kv_idempotency> self, std::string key, std::string value,
                                          router::request_fingerprint fingerprint,
                                          std::function<void(router::idempotency_claim)> done)
{
    router::idempotency_claim result;
    try
    {
        result = co_await settle(*self->bucket_, std::move(key), std::move(value), fingerprint);
    }
    catch (const std::exception& e)
    {
        result = claim_of(verdict::unavailable, {}, e.what());
    }
    done(std::move(result));
}

asio::awaitable<router::idempotency_claim> kv_idempotency::settle(js::kv_bucket& bucket, std::string key,
                                                                  std::string value,
                                                                  router::request_fingerprint fingerprint)
{
    // Create-only: a put that expects the key's last sequence to be 0. Exactly one router's lands.
    auto created = co_await bucket.create(key, std::move(value));
    if (!created.ec) co_return claim_of(verdict::won);
    if (created.ec != js::js_errc::wrong_last_revision)
        co_return claim_of(verdict::unavailable, {},
                           "cannot store the idempotency record in KV bucket " + bucket.name() + ": " +
                               created.error_text());
    auto winner = co_await bucket.get(key);
    if (winner.ec)
        co_return claim_of(verdict::unavailable, {},
                           "another router holds the idempotency record but it cannot be read from KV bucket " +
                               bucket.name() + ": " + winner.error_text());
    auto record = router::decode_idempotency_record(winner.value.value);
    if (!record)
        co_return claim_of(verdict::unavailable, {},
                           "the idempotency record in KV bucket " + bucket.name() + " is not one this router wrote");
    if (record->fingerprint != fingerprint) co_return claim_of(verdict::conflict);
    co_return claim_of(verdict::replay, std::move(record->reply));
}

} // namespace beamline::app
