#pragma once
// Idempotent decide (SPEC §4.4): a repeat of a request with the same (tenant_id, idempotency_key)
// gets the first reply again; a repeat that asks for something else is refused.
//
// One store per tenant, owned by the tenant's strand: the store is NOT thread-safe, by design (no
// lock on the decision path). Time is passed in, so TTLs are tested with a fake clock.

#include "beamline/router/decide_errors.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace beamline::router
{

struct decide_request;

/// Header set on a reply that is a replay of a stored one.
inline constexpr std::string_view idempotent_replay_header = "Beamline-Idempotent-Replay";

/// A 128-bit digest of what a request asks for.
///
/// Included: tenant_id, policy_id, task, the understood constraints, the routing context
/// (constraints merged with metadata), metadata, options, push_assignment, assignment_subject and
/// the run/flow/step ids — everything that can change the decision or the pushed assignment.
/// Left out: request_id and trace_id, which a caller's retry legitimately renews, the version, and
/// the idempotency_key itself. Object members are hashed independently of their order, and a
/// number hashes by value (2 and 2.0 agree), so re-serialising a request does not make it a
/// "different" request.
///
/// Not a cryptographic hash: a deliberately crafted collision could only make a tenant's own
/// request replay the tenant's own earlier reply.
struct request_fingerprint
{
    std::uint64_t high = 0;
    std::uint64_t low = 0;

    friend bool operator==(const request_fingerprint&, const request_fingerprint&) = default;
};

request_fingerprint fingerprint_of(const decide_request& r);

/// The refusal a conflicting repeat receives (`invalid_request` / IDEMPOTENCY_VIOLATION).
intake_error idempotency_conflict(const decide_request& r);

class idempotency_store
{
public:
    using time_point = std::chrono::steady_clock::time_point;

    struct limits
    {
        std::chrono::seconds ttl{3600};
        std::size_t max_entries = 10000; ///< per tenant; beyond it the oldest entry goes
        /// Entries held by every store sharing it (the metric of the whole router), kept with
        /// relaxed increments on insert and erase; null: not counted.
        std::shared_ptr<std::atomic<std::int64_t>> entries_in_all_stores;
    };

    enum class verdict
    {
        miss,     ///< decide normally, then remember() the reply if the decision succeeded
        replay,   ///< send `reply` again
        conflict, ///< same key, different request: refuse with idempotency_conflict()
    };

    struct lookup_result
    {
        verdict kind = verdict::miss;
        std::string_view reply; ///< for replay; valid until the store is next modified
    };

    idempotency_store() : idempotency_store(limits{}) {}
    explicit idempotency_store(limits l);

    ~idempotency_store();
    idempotency_store(const idempotency_store&) = delete;
    idempotency_store& operator=(const idempotency_store&) = delete;

    lookup_result lookup(std::string_view key, const request_fingerprint& fingerprint, time_point now);

    /// Stores a successful decision's reply. Failed decisions must not be stored: a retry of a
    /// failed request deserves a fresh attempt. Expired entries are dropped first, then the
    /// oldest ones while the store is full.
    void remember(std::string_view key, const request_fingerprint& fingerprint, std::string_view reply,
                  time_point now);

    /// Drops the entry of `key`, if any: a decision that was remembered but then could not be
    /// completed (its ExecAssignment was refused) must not be replayed.
    void forget(std::string_view key);

    std::size_t size() const noexcept { return index_.size(); }
    std::uint64_t evictions() const noexcept { return evictions_; }

private:
    struct entry
    {
        std::string key;
        request_fingerprint fingerprint;
        std::string reply;
        time_point expires_at;
    };
    // Oldest first. With one TTL for all entries, oldest is also first to expire.
    using entry_list = std::list<entry>;

    void erase(entry_list::iterator it);

    limits limits_;
    entry_list entries_;
    std::unordered_map<std::string_view, entry_list::iterator> index_; // keys view entries_' keys
    std::uint64_t evictions_ = 0;
};

} // namespace beamline::router
