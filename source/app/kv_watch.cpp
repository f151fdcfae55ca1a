#include "beamline/app/kv_watch.hpp"

#include "beamline/app/logging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

namespace beamline::app
{

using namespace std::chrono_literals;

namespace
{
// How long a failed open or watch waits before it tries again: the cluster is electing a leader,
// or the client is reconnecting; a second is short beside the 1 s a policy change may take.
constexpr auto retry_wait = 500ms;
} // namespace

asio::awaitable<js::api_result<js::kv_bucket>> open_bucket(js::context& jsc, js::kv_config config)
{
    auto bound = co_await js::kv_bucket::bind(jsc, config.bucket);
    if (bound.ec != js::js_errc::stream_not_found) co_return bound;
    co_return co_await js::kv_bucket::create(jsc, config);
}

asio::awaitable<js::api_result<js::kv_bucket>> open_bucket_retrying(js::context& jsc, js::kv_config config,
                                                                    const std::atomic<bool>& stopping)
{
    asio::steady_timer wait(jsc.executor());
    bool warned = false;
    while (true)
    {
        auto r = co_await open_bucket(jsc, config);
        if (!r.ec || stopping.load()) co_return r;
        if (!warned)
            log::warn("KV bucket not available yet; retrying", {{"bucket", config.bucket}, {"error", r.error_text()}});
        warned = true;
        wait.expires_after(retry_wait);
        co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

kv_watch::kv_watch(js::context& jsc, js::kv_bucket bucket, std::function<void(const js::kv_entry&)> on_entry,
                   std::function<void()> on_initial)
    : js_(jsc), bucket_(std::move(bucket)), on_entry_(std::move(on_entry)), on_initial_(std::move(on_initial))
{
}

void kv_watch::start()
{
    asio::co_spawn(js_.executor(), run(shared_from_this()), asio::detached);
}

void kv_watch::stop()
{
    stopping_.store(true);
    std::shared_ptr<js::pull_consumer> c;
    {
        std::lock_guard lock(mutex_);
        c = std::move(consumer_);
    }
    if (c) c->stop();
}

asio::awaitable<void> kv_watch::run(std::shared_ptr<kv_watch> self)
{
    asio::steady_timer wait(self->js_.executor());
    std::weak_ptr<kv_watch> weak = self;
    while (!self->stopping_.load())
    {
        js::kv_bucket::watch_events ev;
        ev.entry = [weak](const js::kv_entry& e) {
            if (auto s = weak.lock()) s->on_entry_(e);
        };
        ev.initial_done = [weak] {
            auto s = weak.lock();
            if (!s) return;
            bool first = false;
            {
                std::lock_guard lock(s->mutex_);
                first = !std::exchange(s->initial_told_, true);
            }
            if (first && s->on_initial_) s->on_initial_();
        };
        ev.stopped = [weak](std::error_code ec) {
            auto s = weak.lock();
            if (!s || s->stopping_.load()) return;
            // The consumer went with its node (an ephemeral consumer is not replicated): watch again.
            log::warn("KV watch stopped; watching again", {{"bucket", s->bucket_.name()}, {"error", ec.message()}});
            asio::co_spawn(s->js_.executor(), run(s), asio::detached);
        };
        auto watched = co_await self->bucket_.watch(std::move(ev));
        if (!watched.ec)
        {
            std::lock_guard lock(self->mutex_);
            self->consumer_ = std::move(watched.value);
            if (self->stopping_.load()) self->consumer_->stop();
            co_return;
        }
        log::warn("cannot watch KV bucket; retrying", {{"bucket", self->bucket_.name()}, {"error", watched.error_text()}});
        wait.expires_after(retry_wait);
        co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

} // namespace beamline::app
