#pragma once
// Policies in KV bucket `beamline_policies` (router.state=jetstream): key `<tenant>.<policy>`, value
// the policy JSON. Watched: every change is served by the policy_store the decisions already read,
// on every router. The admin API writes here instead of the directory; `policy import` seeds it.

#include "beamline/app/kv_watch.hpp"
#include "beamline/router/policy_store.hpp"

#include <optional>
#include <string>

namespace beamline::app
{

namespace asio = boost::asio;
namespace js = nats::jetstream;

/// The bucket's configuration: a few versions of history per key, `replicas` copies.
js::kv_config policies_bucket_config(int replicas);

class kv_policy_source : public std::enable_shared_from_this<kv_policy_source>
{
public:
    kv_policy_source(js::context& jsc, router::policy_store& store, int replicas);
    /// Opens the bucket and starts the watch; `ready` once the current policies are served.
    void start(std::function<void()> ready);
    void stop();

    /// Validates and stores a policy; served (here and everywhere) when the watch brings it back.
    asio::awaitable<router::policy_result<router::policy_store::policy_ptr>> put(std::string tenant_id, std::string policy_id,
                                                            std::string json);
    /// False when there was no such policy.
    asio::awaitable<router::policy_result<bool>> remove(std::string tenant_id, std::string policy_id);
    /// The stored JSON, nullopt when there is none.
    asio::awaitable<router::policy_result<std::optional<std::string>>> get(std::string tenant_id,
                                                                           std::string policy_id);

    /// Applies one watched entry to the store (public for the unit tests of key handling).
    void apply(const js::kv_entry& e);

private:
    std::optional<js::kv_bucket> bucket() const;

    js::context& js_;
    router::policy_store& store_;
    int replicas_;
    mutable std::mutex mutex_;
    std::optional<js::kv_bucket> bucket_;
    std::shared_ptr<kv_watch> watch_;
    std::shared_ptr<std::atomic<bool>> stopping_ = std::make_shared<std::atomic<bool>>(false);
};

} // namespace beamline::app
