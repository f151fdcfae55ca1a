#include "beamline/app/kv_policy_source.hpp"

#include "beamline/app/logging.hpp"
#include "beamline/router/policy.hpp"
#include "beamline/router/shared_state.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

namespace beamline::app
{

namespace
{

// Built outside the coroutines: no braced aggregates holding strings inside a coroutine frame.
router::policy_error failure(std::string message)
{
    router::policy_error e;
    e.message = std::move(message);
    return e;
}

router::policy_error key_refused(std::string_view tenant_id, std::string_view policy_id)
{
    return failure("tenant and policy ids are [A-Za-z0-9_.-]{1,64}, and with router.state=jetstream a tenant id "
                   "holds no dot (the KV key <tenant>.<policy> must say where the tenant ends): got " +
                   std::string(tenant_id) + "/" + std::string(policy_id));
}

} // namespace

js::kv_config policies_bucket_config(int replicas)
{
    js::kv_config c;
    c.bucket = std::string(policies_bucket);
    c.description = "beamline-router policies, key <tenant>.<policy>";
    c.history = 5; // the last few versions, for an operator looking back
    c.replicas = replicas;
    return c;
}

namespace
{

asio::awaitable<void> start_watch(js::context* jsc, int replicas, std::shared_ptr<std::atomic<bool>> stopping,
                                  std::function<void(js::kv_bucket)> opened)
{
    auto r = co_await open_bucket_retrying(*jsc, policies_bucket_config(replicas), *stopping);
    if (!r.ec) opened(std::move(r.value));
}

} // namespace

kv_policy_source::kv_policy_source(js::context& jsc, router::policy_store& store, int replicas)
    : js_(jsc), store_(store), replicas_(replicas)
{
}

void kv_policy_source::apply(const js::kv_entry& e)
{
    auto ids = router::parse_policy_record_key(e.key);
    if (!ids)
    {
        log::warn("KV policy key ignored: not <tenant>.<policy>", {{"bucket", e.bucket}, {"key", e.key}});
        return;
    }
    if (e.operation != js::kv_operation::put)
    {
        if (store_.withdraw(ids->tenant_id, ids->policy_id))
            log::info("policy removed", {{"tenant_id", ids->tenant_id}, {"policy_id", ids->policy_id}});
        return;
    }
    auto served = store_.serve(ids->tenant_id, ids->policy_id, e.value);
    if (!served)
        log::error("policy in KV not served: the version in service stays",
                   {{"tenant_id", ids->tenant_id}, {"policy_id", ids->policy_id}, {"reason", served.error().message}});
    else
        log::info("policy served from KV", {{"tenant_id", ids->tenant_id},
                                            {"policy_id", ids->policy_id},
                                            {"version", std::string_view((*served)->version)},
                                            {"revision", static_cast<double>(e.revision)}});
}

void kv_policy_source::start(std::function<void()> ready)
{
    auto self = shared_from_this();
    auto stopping = stopping_;
    std::function<void(js::kv_bucket)> opened = [self, ready = std::move(ready)](js::kv_bucket b) {
        std::weak_ptr<kv_policy_source> weak = self;
        auto watch = std::make_shared<kv_watch>(
            self->js_, b,
            [weak](const js::kv_entry& e) {
                if (auto s = weak.lock()) s->apply(e);
            },
            ready);
        {
            std::lock_guard lock(self->mutex_);
            self->bucket_ = std::move(b);
            self->watch_ = watch;
        }
        watch->start();
    };
    asio::co_spawn(js_.executor(), start_watch(&js_, replicas_, stopping, std::move(opened)), asio::detached);
}

void kv_policy_source::stop()
{
    stopping_->store(true);
    std::shared_ptr<kv_watch> w;
    {
        std::lock_guard lock(mutex_);
        w = watch_;
    }
    if (w) w->stop();
}

std::optional<js::kv_bucket> kv_policy_source::bucket() const
{
    std::lock_guard lock(mutex_);
    return bucket_;
}

asio::awaitable<router::policy_result<router::policy_store::policy_ptr>> kv_policy_source::put(std::string tenant_id, std::string policy_id,
                                                                          std::string json)
{
    auto key = router::policy_record_key(tenant_id, policy_id);
    if (!key) co_return key_refused(tenant_id, policy_id);
    auto parsed = router::parse_policy(json, policy_id);
    if (!parsed) co_return parsed.error();
    auto b = bucket();
    if (!b) co_return failure("the KV bucket " + std::string(policies_bucket) + " is not open yet (JetStream unreachable?)");
    auto stored = co_await b->put(*key, json);
    if (stored.ec) co_return failure("cannot store the policy in KV bucket " + b->name() + ": " + stored.error_text());
    co_return std::make_shared<const router::policy>(std::move(*parsed));
}

asio::awaitable<router::policy_result<bool>> kv_policy_source::remove(std::string tenant_id, std::string policy_id)
{
    auto key = router::policy_record_key(tenant_id, policy_id);
    if (!key) co_return key_refused(tenant_id, policy_id);
    auto b = bucket();
    if (!b) co_return failure("the KV bucket " + std::string(policies_bucket) + " is not open yet (JetStream unreachable?)");
    auto current = co_await b->get(*key);
    if (current.ec == js::js_errc::key_not_found) co_return false;
    if (current.ec) co_return failure("cannot read KV bucket " + b->name() + ": " + current.error_text());
    auto removed = co_await b->remove(*key);
    if (removed.ec) co_return failure("cannot delete from KV bucket " + b->name() + ": " + removed.error_text());
    co_return true;
}

asio::awaitable<router::policy_result<std::optional<std::string>>> kv_policy_source::get(std::string tenant_id,
                                                                                         std::string policy_id)
{
    auto key = router::policy_record_key(tenant_id, policy_id);
    if (!key) co_return key_refused(tenant_id, policy_id);
    auto b = bucket();
    if (!b) co_return failure("the KV bucket " + std::string(policies_bucket) + " is not open yet (JetStream unreachable?)");
    auto current = co_await b->get(*key);
    using result = router::policy_result<std::optional<std::string>>;
    if (current.ec == js::js_errc::key_not_found) co_return result(boost::system::in_place_value);
    if (current.ec) co_return failure("cannot read KV bucket " + b->name() + ": " + current.error_text());
    co_return result(boost::system::in_place_value, std::move(current.value.value));
}

} // namespace beamline::app
