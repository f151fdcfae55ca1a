#pragma once
// A key-value store on a JetStream stream, with the 2.9 semantics of the official clients: bucket
// `B` is stream `KV_B` on subjects `$KV.B.>`, key `k` is subject `$KV.B.k`, a value is the last
// message on its subject, its revision that message's stream sequence. Deletes are markers with
// `KV-Operation: DEL`; a purge is a `KV-Operation: PURGE` marker with `Nats-Rollup: sub`, which
// drops the key's history. Create is a put expecting the key's last sequence to be 0 (or a marker);
// update expects the revision the caller read. No per-key TTL (2.9).

#include "beamline/nats/jetstream/consumer.hpp"
#include "beamline/nats/jetstream/context.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace beamline::nats::jetstream
{

struct kv_config
{
    std::string bucket;
    std::string description;
    int history = 1;                ///< values kept per key (1..64)
    milliseconds ttl{0};            ///< max age of a value; 0: forever
    std::int64_t max_bytes = -1;
    std::int32_t max_value_size = -1;
    std::string storage = "file";
    int replicas = 1;
};

enum class kv_operation
{
    put,
    del,
    purge,
};

struct kv_entry
{
    std::string bucket;
    std::string key;
    std::string value;
    std::uint64_t revision = 0;
    kv_operation operation = kv_operation::put;
    std::uint64_t delta = 0; ///< for watch: how many newer entries the bucket had when this one was sent
};

/// Is `key` a valid KV key: subject tokens of `[-/_=.a-zA-Z0-9]`, no leading/trailing dot.
bool valid_kv_key(std::string_view key) noexcept;
/// The stream configuration a bucket is stored in.
stream_config kv_stream_config(const kv_config& c);
/// The operation a stored message's headers say (put when none).
kv_operation kv_operation_of(std::string_view header_block) noexcept;

class kv_bucket
{
public:
    /// Creates the bucket's stream (or finds it with the same configuration).
    static asio::awaitable<api_result<kv_bucket>> create(context& js, kv_config config);
    /// Binds to an existing bucket; `stream_not_found` when there is none.
    static asio::awaitable<api_result<kv_bucket>> bind(context& js, std::string bucket);

    kv_bucket() = default;
    const std::string& name() const noexcept { return bucket_; }
    const std::string& stream() const noexcept { return stream_; }

    /// The current value; `key_not_found` when there is none or it was deleted or purged.
    asio::awaitable<api_result<kv_entry>> get(std::string key);
    /// The revision stored.
    asio::awaitable<api_result<std::uint64_t>> put(std::string key, std::string value);
    /// Stores only when the key has no value: otherwise `wrong_last_revision`.
    asio::awaitable<api_result<std::uint64_t>> create(std::string key, std::string value);
    /// Stores only when the key's revision is still `last_revision`: otherwise `wrong_last_revision`.
    asio::awaitable<api_result<std::uint64_t>> update(std::string key, std::string value, std::uint64_t last_revision);
    /// A delete marker (history kept).
    asio::awaitable<api_result<std::uint64_t>> remove(std::string key);
    /// A purge marker that drops the key's history.
    asio::awaitable<api_result<std::uint64_t>> purge(std::string key);
    /// Keys with a current value (not deleted or purged), in stream order.
    asio::awaitable<api_result<std::vector<std::string>>> keys();

    struct watch_events
    {
        std::function<void(const kv_entry&)> entry; ///< current values first, then every update
        std::function<void()> initial_done;         ///< once, after the last current value
        std::function<void(std::error_code)> stopped;
    };
    /// Watches `keys` (a subject pattern within the bucket, default every key): an ephemeral pull
    /// consumer delivering the last value per key, then every new one. Stop it with stop(); events
    /// run until `stopped`.
    asio::awaitable<api_result<std::shared_ptr<pull_consumer>>> watch(watch_events events, std::string keys = ">");

private:
    kv_bucket(context& js, std::string bucket);
    std::string subject(std::string_view key) const;
    asio::awaitable<api_result<std::uint64_t>> put_with(std::string key, std::string value, publish_options o);

    context* js_ = nullptr;
    std::string bucket_;
    std::string stream_;
    std::string prefix_;
};

} // namespace beamline::nats::jetstream
