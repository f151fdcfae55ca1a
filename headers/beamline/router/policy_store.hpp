#pragma once
// Every tenant's policies, read from `<dir>/<tenant>/<policy_id>.json`.
//
// Readers call `get` from any thread: it copies one immutable snapshot out of a snapshot_cell,
// whose mutex is held for a refcount increment and never across I/O, so a reload or an admin write
// never blocks a decision for longer. Writers (`load_directory`, `put`, `remove`) are serialised
// among themselves, build a new snapshot and publish it in one store; a reader keeps whatever
// version it already holds.
//
// An invalid file never replaces the last good version of its policy: the load report names it and
// the previous version stays in service. A policy whose file has disappeared is dropped on reload.
// Tenant and policy ids must match [A-Za-z0-9_.-]{1,64} and must not be "." or ".."; anything else
// is refused before it gets near a path.

#include <beamline/router/policy.hpp>
#include <beamline/router/policy_error.hpp>
#include <beamline/router/snapshot_cell.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace beamline::router
{

/// True for a tenant or policy id that may name a file or directory.
bool is_valid_store_id(std::string_view id) noexcept;

struct load_problem
{
    std::filesystem::path path;
    std::string reason;
};

struct load_report
{
    std::size_t loaded = 0;             ///< files parsed and now in service
    std::vector<load_problem> problems; ///< invalid files and unreadable directories
    std::vector<std::string> removed;   ///< "tenant/policy" dropped because their file is gone
    bool ok() const noexcept { return problems.empty(); }
};

struct policy_listing
{
    std::string tenant_id;
    std::string policy_id;
    std::string version;
};

class policy_store
{
public:
    using policy_ptr = std::shared_ptr<const policy>;

    /// An empty store; nothing is read until `load_directory`.
    explicit policy_store(std::filesystem::path directory);

    const std::filesystem::path& directory() const noexcept { return directory_; }

    /// (Re)reads every `<tenant>/<policy>.json` under the directory; safe while readers run.
    load_report load_directory();

    /// The policy in service, or null. Cheap: a hash probe, a map lookup and a refcount increment or two.
    policy_ptr get(std::string_view tenant_id, std::string_view policy_id) const;
    /// Changes whenever the policies in service may have: a `get` result kept with the generation
    /// it was read under is still what `get` would return while the generation is the same.
    std::uint64_t generation() const noexcept { return snapshot_.generation(); }

    /// Validates `json`, writes it atomically to its file (temp file, fsync, rename), then serves
    /// it. On any error nothing changes.
    policy_result<policy_ptr> put(std::string_view tenant_id, std::string_view policy_id,
                                  std::string_view json);

    /// Deletes the file and stops serving the policy; false when there was no such policy.
    policy_result<bool> remove(std::string_view tenant_id, std::string_view policy_id);

    /// Validates `json` and serves it without touching the directory: the policies of a shared
    /// store (router.state=jetstream) arrive this way. On an error the version in service stays.
    policy_result<policy_ptr> serve(std::string_view tenant_id, std::string_view policy_id, std::string_view json);

    /// Stops serving a policy without touching the directory; false when it was not served.
    bool withdraw(std::string_view tenant_id, std::string_view policy_id);

    /// All policies in service, ordered by tenant then policy id; one tenant's when given.
    std::vector<policy_listing> list(std::string_view tenant_id = {}) const;

private:
    struct id_hash
    {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    using tenant_policies = std::map<std::string, policy_ptr, std::less<>>;
    /// Hashed by tenant: every decide looks its tenant up here, and an ordered map of 50,000
    /// tenants costs 16 string compares on cold nodes per lookup (`list` sorts instead).
    using snapshot = std::unordered_map<std::string, tenant_policies, id_hash, std::equal_to<>>;

    std::shared_ptr<const snapshot> current() const { return snapshot_.load(); }
    static policy_result<policy_ptr> validated(std::string_view tenant_id, std::string_view policy_id,
                                               std::string_view json);
    void install(std::string_view tenant_id, std::string_view policy_id, policy_ptr p); // under writer_
    bool drop(std::string_view tenant_id, std::string_view policy_id);                 // under writer_

    std::filesystem::path directory_;
    std::mutex writer_;
    snapshot_cell<snapshot> snapshot_;
};

} // namespace beamline::router
