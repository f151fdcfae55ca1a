#pragma once
// State shared by every router of a deployment (router.state=jetstream, SPEC §14), as the router
// layer sees it: two interfaces the wiring implements over a store it chooses, and the pure
// encoding of what is stored. With router.state=local neither interface is set and nothing here
// is on the decision path.
//
//   shared_idempotency  a successful idempotent decision is claimed create-only after it is made;
//                       the router that loses the race replays the winner's reply instead of its own.
//   shared_sticky       a tenant's sticky store asks it, in memory and never over the network, for
//                       a binding it does not know, and tells it of every binding it makes or
//                       refreshes; writing them out is the implementation's (asynchronous) business.

#include "beamline/router/idempotency_store.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace beamline::router
{

struct idempotency_claim
{
    enum class verdict
    {
        won,         ///< this router's reply is the one on record: send it
        replay,      ///< another router decided first: send `reply`, the one on record
        conflict,    ///< the key is on record for a different request
        unavailable, ///< the record could not be written or read: `message` says why
    };
    verdict kind = verdict::unavailable;
    std::string reply;
    std::string message;
};

class shared_idempotency
{
public:
    virtual ~shared_idempotency() = default;
    /// Records `reply` for (tenant, key) unless a record exists. `done` is called exactly once,
    /// from any thread, never before claim() returns; claim() itself never blocks.
    virtual void claim(std::string tenant_id, std::string key, request_fingerprint fingerprint, std::string reply,
                       std::function<void(idempotency_claim)> done) = 0;
};

/// A binding known to the deployment: its provider and how long it has left.
struct shared_binding
{
    std::string provider;
    std::chrono::milliseconds remaining{0};
};

class shared_sticky
{
public:
    virtual ~shared_sticky() = default;
    /// A live binding another router (or this one, earlier) made; from memory, never a round trip.
    virtual std::optional<shared_binding> find(std::string_view tenant_id, std::string_view policy_id,
                                               std::string_view session) = 0;
    /// (tenant, policy, session) is bound to `provider` for `ttl` from now; returns at once.
    virtual void bound(std::string_view tenant_id, std::string_view policy_id, std::string_view session,
                       std::string_view provider, std::chrono::milliseconds ttl) = 0;
};

// ---- what the KV buckets hold (pure; unit-tested) ----------------------------------------------

/// `<tenant>.<hex of key>`: an idempotency key may hold any printable byte, a KV key may not.
std::string idempotency_record_key(std::string_view tenant_id, std::string_view idempotency_key);
/// `<tenant>.<policy>.<hex of session>`.
std::string sticky_record_key(std::string_view tenant_id, std::string_view policy_id, std::string_view session);
/// `<tenant>.<policy>`; nullopt when either id is not a valid store id or the tenant holds a dot
/// (the key would not say where the tenant ends).
std::optional<std::string> policy_record_key(std::string_view tenant_id, std::string_view policy_id);

struct policy_key
{
    std::string tenant_id;
    std::string policy_id;
};
/// The ids of a `beamline_policies` key: the tenant up to the first dot, the policy after it.
std::optional<policy_key> parse_policy_record_key(std::string_view key);

struct idempotency_record
{
    request_fingerprint fingerprint;
    std::string reply;
};
std::string encode_idempotency_record(const idempotency_record& r);
std::optional<idempotency_record> decode_idempotency_record(std::string_view value);

/// A sticky binding with its expiry as Unix milliseconds: the routers share a wall clock (NTP),
/// not a steady one, and KV 2.9 has no per-key TTL.
struct sticky_record
{
    std::string tenant_id;
    std::string policy_id;
    std::string session;
    std::string provider;
    std::int64_t expires_at_unix_ms = 0;
};
std::string encode_sticky_record(const sticky_record& r);
std::optional<sticky_record> decode_sticky_record(std::string_view value);

} // namespace beamline::router
