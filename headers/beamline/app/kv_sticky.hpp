#pragma once
// Sticky bindings in KV bucket `beamline_sticky` (router.state=jetstream): key
// `<tenant>.<policy>.<hex of session>`, the expiry (Unix ms) in the value, as KV 2.9 has no per-key
// TTL. Watched into memory, which the tenants' sticky stores ask on a miss: a decision never waits
// for a round trip. Writes are fire-and-forget coroutines on the client's executor.

#include "beamline/app/kv_watch.hpp"
#include "beamline/router/shared_state.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace beamline::app
{

namespace asio = boost::asio;
namespace js = nats::jetstream;

class kv_sticky final : public router::shared_sticky, public std::enable_shared_from_this<kv_sticky>
{
public:
    using wall_clock = std::function<std::int64_t()>; ///< Unix milliseconds
    static constexpr std::size_t default_capacity = 500'000;

    kv_sticky(js::context& jsc, int replicas, wall_clock now, std::size_t capacity = default_capacity);
    void start();
    /// The bucket is open: claims (or writes) go to it.
    bool ready() const noexcept { return ready_.load(std::memory_order_acquire); }
    void stop();

    std::optional<router::shared_binding> find(std::string_view tenant_id, std::string_view policy_id,
                                               std::string_view session) override;
    void bound(std::string_view tenant_id, std::string_view policy_id, std::string_view session,
               std::string_view provider, std::chrono::milliseconds ttl) override;

    /// A watched entry into memory (public for the unit tests of the mirror).
    void apply(const js::kv_entry& e);
    std::size_t size() const;

private:
    static asio::awaitable<void> open(std::shared_ptr<kv_sticky> self);
    static asio::awaitable<void> write(std::shared_ptr<kv_sticky> self, std::string key, std::string value);
    void remember(std::string key, router::sticky_record r);

    js::context& js_;
    int replicas_;
    wall_clock now_;
    std::size_t capacity_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, router::sticky_record> known_;
    std::optional<js::kv_bucket> bucket_; ///< set once, before ready_
    std::atomic<bool> ready_{false};
    std::atomic<bool> stopping_{false};
    std::shared_ptr<kv_watch> watch_;
};

} // namespace beamline::app
