#pragma once
// router.state=jetstream (SPEC §14): the three KV buckets every router shares, behind the
// interfaces the local stores have, so router_service only chooses.
//
//   kv_policy_source  `beamline_policies`, key `<tenant>.<policy>`, value the policy JSON. Watched:
//                     every change is served by the policy_store the decisions already read. The
//                     admin API writes here instead of the directory; `policy import` seeds it.
//   kv_idempotency    `beamline_idempotency`, key `<tenant>.<hex of idempotency_key>`, written
//                     create-only; the bucket's max age is router.idempotency_ttl_s.
//   kv_sticky         `beamline_sticky`, key `<tenant>.<policy>.<hex of session>`, the expiry in the
//                     value (2.9 has no per-key TTL). Watched into memory, which the tenants'
//                     sticky stores ask on a miss: a decision never waits for a round trip.
//
// Every KV call is a coroutine on the client's executor; nothing here blocks a caller's thread.

#include "beamline/nats/jetstream/context.hpp"
#include "beamline/nats/jetstream/kv.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

namespace beamline::app
{

namespace asio = boost::asio;
namespace js = nats::jetstream;

inline constexpr std::string_view policies_bucket = "beamline_policies";
inline constexpr std::string_view idempotency_bucket = "beamline_idempotency";
inline constexpr std::string_view sticky_bucket = "beamline_sticky";

/// The bucket, created with `config` when it is missing (an existing one is used as it is).
asio::awaitable<js::api_result<js::kv_bucket>> open_bucket(js::context& jsc, js::kv_config config);

/// `open_bucket` again and again, `retry_wait` apart, until it succeeds or `stopping` is set.
asio::awaitable<js::api_result<js::kv_bucket>> open_bucket_retrying(js::context& jsc, js::kv_config config,
                                                                    const std::atomic<bool>& stopping);

/// Keeps a watch on a bucket: every entry to `on_entry`, `on_initial` once after the first pass
/// over the current values; a watch that stops (its node went away) is started again.
class kv_watch : public std::enable_shared_from_this<kv_watch>
{
public:
    kv_watch(js::context& jsc, js::kv_bucket bucket, std::function<void(const js::kv_entry&)> on_entry,
             std::function<void()> on_initial);
    void start();
    void stop();

private:
    static asio::awaitable<void> run(std::shared_ptr<kv_watch> self);

    js::context& js_;
    js::kv_bucket bucket_;
    std::function<void(const js::kv_entry&)> on_entry_;
    std::function<void()> on_initial_;
    std::mutex mutex_;
    std::shared_ptr<js::pull_consumer> consumer_;
    bool initial_told_ = false;
    std::atomic<bool> stopping_{false};
};

} // namespace beamline::app
