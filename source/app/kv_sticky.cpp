#include "beamline/app/kv_sticky.hpp"

#include "beamline/app/logging.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

namespace beamline::app
{

using namespace std::chrono_literals;

kv_sticky::kv_sticky(js::context& jsc, int replicas, wall_clock now, std::size_t capacity)
    : js_(jsc), replicas_(replicas), now_(std::move(now)), capacity_(capacity == 0 ? 1 : capacity)
{
}

void kv_sticky::start()
{
    asio::co_spawn(js_.executor(), open(shared_from_this()), asio::detached);
}

void kv_sticky::stop()
{
    stopping_.store(true);
    std::shared_ptr<kv_watch> w;
    {
        std::lock_guard lock(mutex_);
        w = watch_;
    }
    if (w) w->stop();
}

asio::awaitable<void> kv_sticky::open(std::shared_ptr<kv_sticky> self)
{
    js::kv_config c;
    c.bucket = std::string(sticky_bucket);
    c.description = "beamline-router sticky bindings, key <tenant>.<policy>.<hex of session>, expiry in the value";
    c.history = 1;
    // KV 2.9 has no per-key TTL: each value says when it expires. The bucket's max age only
    // sweeps what nobody refreshed for a day.
    c.ttl = 24h;
    c.replicas = self->replicas_;
    auto r = co_await open_bucket_retrying(self->js_, c, self->stopping_);
    if (r.ec) co_return;
    std::weak_ptr<kv_sticky> weak = self;
    auto watch = std::make_shared<kv_watch>(
        self->js_, r.value,
        [weak](const js::kv_entry& e) {
            if (auto s = weak.lock()) s->apply(e);
        },
        std::function<void()>());
    {
        std::lock_guard lock(self->mutex_);
        self->bucket_ = std::move(r.value);
        self->watch_ = watch;
    }
    self->ready_.store(true, std::memory_order_release);
    watch->start();
}

std::optional<router::shared_binding> kv_sticky::find(std::string_view tenant_id, std::string_view policy_id,
                                                      std::string_view session)
{
    auto key = router::sticky_record_key(tenant_id, policy_id, session);
    auto now = now_();
    std::lock_guard lock(mutex_);
    auto it = known_.find(key);
    if (it == known_.end()) return std::nullopt;
    if (it->second.expires_at_unix_ms <= now)
    {
        known_.erase(it);
        return std::nullopt;
    }
    router::shared_binding b;
    b.provider = it->second.provider;
    b.remaining = std::chrono::milliseconds(it->second.expires_at_unix_ms - now);
    return b;
}

void kv_sticky::bound(std::string_view tenant_id, std::string_view policy_id, std::string_view session,
                      std::string_view provider, std::chrono::milliseconds ttl)
{
    router::sticky_record r;
    r.tenant_id.assign(tenant_id);
    r.policy_id.assign(policy_id);
    r.session.assign(session);
    r.provider.assign(provider);
    r.expires_at_unix_ms = now_() + ttl.count();
    auto key = router::sticky_record_key(tenant_id, policy_id, session);
    auto value = router::encode_sticky_record(r);
    remember(key, std::move(r));
    if (!ready_.load(std::memory_order_acquire) || !js::valid_kv_key(key)) return;
    asio::co_spawn(js_.executor(), write(shared_from_this(), std::move(key), std::move(value)), asio::detached);
}

asio::awaitable<void> kv_sticky::write(std::shared_ptr<kv_sticky> self, std::string key, std::string value)
{
    auto put = co_await self->bucket_->put(key, std::move(value));
    // The binding still serves here; the other routers make their own until the next refresh lands.
    if (put.ec) log::debug("sticky binding not shared", {{"key", key}, {"error", put.error_text()}});
}

void kv_sticky::apply(const js::kv_entry& e)
{
    if (e.operation != js::kv_operation::put)
    {
        std::lock_guard lock(mutex_);
        known_.erase(e.key);
        return;
    }
    auto r = router::decode_sticky_record(e.value);
    if (!r || r->expires_at_unix_ms <= now_())
    {
        std::lock_guard lock(mutex_);
        known_.erase(e.key);
        return;
    }
    remember(e.key, std::move(*r));
}

void kv_sticky::remember(std::string key, router::sticky_record r)
{
    std::lock_guard lock(mutex_);
    auto it = known_.find(key);
    if (it != known_.end())
    {
        it->second = std::move(r);
        return;
    }
    if (known_.size() >= capacity_)
    {
        auto now = now_();
        std::erase_if(known_, [now](const auto& kv) { return kv.second.expires_at_unix_ms <= now; });
        // Still full of live bindings: this one is not mirrored (the tenant's own cache keeps it).
        if (known_.size() >= capacity_) return;
    }
    known_.emplace(std::move(key), std::move(r));
}

std::size_t kv_sticky::size() const
{
    std::lock_guard lock(mutex_);
    return known_.size();
}

} // namespace beamline::app
